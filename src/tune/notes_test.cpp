#include "tune/notes.h"

#include <gtest/gtest.h>

namespace tinyq::tune {
namespace {

TEST(TuneNotes, AppendsToTheProvenanceAndReplacesAnEarlierTuneSegment) {
  auto first = compose_notes("Copied from upstream.", "tinyq tune: dynamic per-channel; drop 1e-3", " (x)");
  ASSERT_TRUE(first.is_ok());
  EXPECT_EQ(*first, "Copied from upstream. tinyq tune: dynamic per-channel; drop 1e-3 (x)");
  auto second = compose_notes(*first, "tinyq tune: static mse per-tensor u8; drop 2e-4", "");
  ASSERT_TRUE(second.is_ok());
  EXPECT_EQ(*second, "Copied from upstream. tinyq tune: static mse per-tensor u8; drop 2e-4");
  EXPECT_EQ(*compose_notes("", "tinyq tune: dynamic per-tensor", ""), "tinyq tune: dynamic per-tensor");
}

TEST(TuneNotes, OverLongNotesLoseTheDetailFirstThenThePreviousText) {
  const std::string segment = "tinyq tune: dynamic per-tensor; drop 1e-3";  // 41 characters
  const std::string detail(100, 'd');
  // Fits with the detail: 300 + 1 + 41 + 100 = 442.
  EXPECT_EQ(compose_notes(std::string(300, 'p'), segment, detail)->size(), 442u);
  // 400 + 1 + 41 + 100 = 542 > 512: the detail goes, 442 remain.
  EXPECT_EQ(*compose_notes(std::string(400, 'p'), segment, detail), std::string(400, 'p') + " " + segment);
  // 500 + 1 + 41 = 542 > 512 even without it: the previous text keeps 512 - 41 - 1 - 3 = 467
  // characters and "...".
  auto cut = compose_notes(std::string(500, 'p'), segment, detail);
  ASSERT_TRUE(cut.is_ok());
  EXPECT_EQ(cut->size(), kMaxNotes);
  EXPECT_EQ(*cut, std::string(467, 'p') + "... " + segment);
  EXPECT_FALSE(compose_notes("", std::string(kMaxNotes + 1, 's'), "").is_ok());
}

}  // namespace
}  // namespace tinyq::tune
