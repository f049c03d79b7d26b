#include "gate/report_doc.h"

#include "gate/svg.h"

namespace tinyq::gate {

namespace {

// The page's whole style sheet: the report must open from disk with nothing fetched.
constexpr const char* kCss = R"(body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1,h2,h3{line-height:1.2}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0 1.2em}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}
th{background:#f3f3f3}td{font-variant-numeric:tabular-nums}tr:nth-child(even) td{background:#fafafa}
svg.scatter{border:1px solid #ddd;margin:.3em 1em .8em 0;background:#fcfcfc})";

std::string md_cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n') out += ' ';
    else out += c;
  }
  return out;
}

}  // namespace

DocBlock heading(int level, std::string text) { return {DocBlock::Kind::kHeading, level, std::move(text), {}, {}}; }
DocBlock paragraph(std::string text) { return {DocBlock::Kind::kParagraph, 0, std::move(text), {}, {}}; }
DocBlock list(std::vector<std::string> items) { return {DocBlock::Kind::kList, 0, {}, std::move(items), {}}; }
DocBlock table(std::vector<std::string> header, std::vector<std::vector<std::string>> rows) {
  return {DocBlock::Kind::kTable, 0, {}, std::move(header), std::move(rows)};
}
DocBlock svg(std::string element) { return {DocBlock::Kind::kSvg, 0, std::move(element), {}, {}}; }

std::string render_markdown(const Doc& doc) {
  std::string out;
  for (const DocBlock& b : doc) {
    switch (b.kind) {
      case DocBlock::Kind::kHeading: out += std::string(static_cast<size_t>(b.level), '#') + " " + b.text + "\n\n"; break;
      case DocBlock::Kind::kParagraph: out += b.text + "\n\n"; break;
      case DocBlock::Kind::kList:
        for (const auto& item : b.items) out += "- " + item + "\n";
        out += "\n";
        break;
      case DocBlock::Kind::kTable: {
        std::string head = "|", rule = "|";
        for (const auto& h : b.items) head += " " + md_cell(h) + " |", rule += " --- |";
        out += head + "\n" + rule + "\n";
        for (const auto& row : b.rows) {
          std::string line = "|";
          for (const auto& cell : row) line += " " + md_cell(cell) + " |";
          out += line + "\n";
        }
        out += "\n";
        break;
      }
      // Markdown passes raw HTML through; a blank line either side keeps it one HTML block.
      case DocBlock::Kind::kSvg: out += b.text + "\n"; break;
    }
  }
  return out;
}

std::string render_html(const Doc& doc, const std::string& title) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + xml_escape(title) +
                    "</title>\n<style>\n" + kCss + "\n</style>\n</head>\n<body>\n";
  for (const DocBlock& b : doc) {
    switch (b.kind) {
      case DocBlock::Kind::kHeading: {
        std::string h = "h" + std::to_string(b.level);
        out += "<" + h + ">" + xml_escape(b.text) + "</" + h + ">\n";
        break;
      }
      case DocBlock::Kind::kParagraph: out += "<p>" + xml_escape(b.text) + "</p>\n"; break;
      case DocBlock::Kind::kList:
        out += "<ul>\n";
        for (const auto& item : b.items) out += "<li>" + xml_escape(item) + "</li>\n";
        out += "</ul>\n";
        break;
      case DocBlock::Kind::kTable:
        out += "<table>\n<tr>";
        for (const auto& h : b.items) out += "<th>" + xml_escape(h) + "</th>";
        out += "</tr>\n";
        for (const auto& row : b.rows) {
          out += "<tr>";
          for (const auto& cell : row) out += "<td>" + xml_escape(cell) + "</td>";
          out += "</tr>\n";
        }
        out += "</table>\n";
        break;
      case DocBlock::Kind::kSvg: out += b.text; break;
    }
  }
  return out + "</body>\n</html>\n";
}

}  // namespace tinyq::gate
