#include <gtest/gtest.h>

#include "tinyq/tune.h"

namespace tinyq {
namespace {

TEST(TuneRecipe, EveryRecipeRoundTripsThroughItsText) {
  int checked = 0;
  for (QuantMode mode : {QuantMode::kDynamic, QuantMode::kStatic, QuantMode::kQat})
    for (CalibrationMethod m : {CalibrationMethod::kMinMax, CalibrationMethod::kPercentile, CalibrationMethod::kEntropy,
                                CalibrationMethod::kMse})
      for (bool pc : {true, false})
        for (ActivationFormat a : {ActivationFormat::kU8, ActivationFormat::kS8})
          for (const std::vector<std::string>& fp32 : {std::vector<std::string>{}, std::vector<std::string>{"/net/Conv_3", "fc"}}) {
            TuneRecipe r{mode, m, pc, a, fp32};
            if (mode == QuantMode::kDynamic) r.method = CalibrationMethod::kMinMax, r.activations = ActivationFormat::kU8;
            auto text = tune_recipe_text(r);
            ASSERT_TRUE(text.is_ok()) << text.status().message();
            auto back = parse_tune_recipe(*text);
            ASSERT_TRUE(back.is_ok()) << *text << ": " << back.status().message();
            EXPECT_EQ(*back, r) << *text;
            ++checked;
          }
  EXPECT_EQ(checked, 3 * 4 * 2 * 2 * 2);
}

TEST(TuneRecipe, TextIsWhatTheNotesSay) {
  TuneRecipe d;
  d.per_channel = false;
  EXPECT_EQ(*tune_recipe_text(d), "dynamic per-tensor");
  TuneRecipe s{QuantMode::kStatic, CalibrationMethod::kEntropy, true, ActivationFormat::kS8, {"conv_3", "conv_7"}};
  EXPECT_EQ(*tune_recipe_text(s), "static entropy per-channel s8 fp32=conv_3,conv_7");
}

TEST(TuneRecipe, NamesTheNotesCannotCarryAreRefused) {
  for (const char* bad : {"has space", "a,b", "semi;colon", ""}) {
    TuneRecipe r;
    r.fp32_nodes = {bad};
    EXPECT_FALSE(tune_recipe_text(r).is_ok()) << bad;
  }
  TuneRecipe fp32;
  fp32.mode = QuantMode::kFp32;
  EXPECT_FALSE(tune_recipe_text(fp32).is_ok());
}

TEST(TuneRecipe, MalformedTextIsAnErrorNamingIt) {
  for (const char* bad : {"", "fp32 per-channel", "static per-channel u8", "static minmax sideways u8", "static minmax per-channel u16",
                          "dynamic per-channel extra", "dynamic per-channel fp32=", "static median per-channel u8"}) {
    auto r = parse_tune_recipe(bad);
    ASSERT_FALSE(r.is_ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(r.status().message().find("tune recipe '" + std::string(bad) + "'"), std::string::npos) << r.status().message();
  }
}

TEST(TuneRecipe, TheLastRecipeInTheNotesCounts) {
  auto r = recorded_tune_recipe("copied from upstream. tinyq tune: dynamic per-channel; drop 1e-3. tinyq tune: static mse per-tensor u8; "
                                "drop 4e-4 <= budget 0.01");
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->mode, QuantMode::kStatic);
  EXPECT_EQ(r->method, CalibrationMethod::kMse);
  EXPECT_FALSE(r->per_channel);
  auto none = recorded_tune_recipe("Byte-identical copy of upstream.");
  ASSERT_FALSE(none.is_ok());
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace tinyq
