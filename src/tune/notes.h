// The entry's notes as tune leaves them: what was there before (provenance), then one segment
// "tinyq tune: <recipe>; <why>", which replaces the segment an earlier tune wrote.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "tinyq/status.h"

namespace tinyq::tune {

inline constexpr std::string_view kNotesMarker = "tinyq tune: ";
inline constexpr size_t kMaxNotes = 512;  // the registry schema's maxLength for notes

// `previous` without any tune segment, then `segment` + `detail`. When that exceeds kMaxNotes,
// `detail` (the comparison with other modes) goes first, then the previous text is shortened
// with "..."; a segment that cannot fit on its own is kInvalidArgument.
Result<std::string> compose_notes(std::string_view previous, const std::string& segment, const std::string& detail);

}  // namespace tinyq::tune
