#include "tune/notes.h"

namespace tinyq::tune {

namespace {

constexpr std::string_view kEllipsis = "...";

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<std::string> compose_notes(std::string_view previous, const std::string& segment, const std::string& detail) {
  std::string_view base = previous;
  if (size_t at = base.find(kNotesMarker); at != std::string_view::npos) base = base.substr(0, at);
  base = trim_right(base);
  const std::string sep = base.empty() ? "" : " ";
  std::string tail = segment + detail;
  if (base.size() + sep.size() + tail.size() > kMaxNotes) tail = segment;
  if (tail.size() > kMaxNotes)
    return Status::invalid_argument("the tune note '" + segment + "' is " + std::to_string(segment.size()) +
                                    " characters; the registry allows " + std::to_string(kMaxNotes));
  if (base.size() + sep.size() + tail.size() <= kMaxNotes) return std::string(base) + sep + tail;
  const size_t room = kMaxNotes - tail.size() - sep.size();
  if (room <= kEllipsis.size()) return tail;
  return std::string(trim_right(base.substr(0, room - kEllipsis.size()))) + std::string(kEllipsis) + sep + tail;
}

}  // namespace tinyq::tune
