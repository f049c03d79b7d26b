// A minimal document model for the audit report, rendered twice: as Markdown and as a
// self-contained HTML page (inline CSS; SVG blocks inlined as they are). Text is plain text and
// is escaped by each renderer.
#pragma once

#include <string>
#include <vector>

namespace tinyq::gate {

struct DocBlock {
  enum class Kind { kHeading, kParagraph, kList, kTable, kSvg };
  Kind kind = Kind::kParagraph;
  int level = 2;                            // kHeading: 1..4
  std::string text;                         // kHeading, kParagraph; kSvg: the <svg> element
  std::vector<std::string> items;           // kList; kTable: the header
  std::vector<std::vector<std::string>> rows;  // kTable
};
using Doc = std::vector<DocBlock>;

DocBlock heading(int level, std::string text);
DocBlock paragraph(std::string text);
DocBlock list(std::vector<std::string> items);
DocBlock table(std::vector<std::string> header, std::vector<std::vector<std::string>> rows);
DocBlock svg(std::string element);

std::string render_markdown(const Doc& doc);
std::string render_html(const Doc& doc, const std::string& title);

}  // namespace tinyq::gate
