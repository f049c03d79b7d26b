// The audit report's building blocks: the scatter plot and the Markdown / HTML renderers.
#include "gate/svg.h"

#include <gtest/gtest.h>

#include <vector>

#include "gate/report_doc.h"

namespace tinyq::gate {
namespace {

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

TEST(GateSvg, ScatterDownsamplesEvenlyToAtMostMaxPoints) {
  std::vector<float> x(10000), y(10000);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i), y[i] = static_cast<float>(i) + 0.5f;
  std::string s = scatter_svg(x, y, 3000, "m: out", "fp32", "int8");
  EXPECT_EQ(count(s, "<circle"), 2500u);  // every 4th value: ceil(10000 / 3000) = 4
  EXPECT_EQ(s.rfind("<svg", 0), 0u);
  EXPECT_NE(s.find("</svg>"), std::string::npos);
  EXPECT_EQ(count(scatter_svg(std::vector<float>{1, 2}, std::vector<float>{1, 2}, 3000, "t", "x", "y"), "<circle"), 2u);
}

TEST(GateSvg, TextIsEscapedAndNothingIsFetched) {
  std::string s = scatter_svg(std::vector<float>{0, 1}, std::vector<float>{0, 1}, 10, "a<b & \"c\"", "x", "y");
  EXPECT_NE(s.find("a&lt;b &amp; &quot;c&quot;"), std::string::npos);
  EXPECT_EQ(s.find("a<b"), std::string::npos);
  EXPECT_EQ(s.find("http"), std::string::npos);
  EXPECT_EQ(xml_escape("<'&'>"), "&lt;&#39;&amp;&#39;&gt;");
}

TEST(GateSvg, ConstantSeriesStillDrawsAFiniteRange) {
  std::string s = scatter_svg(std::vector<float>{2, 2, 2}, std::vector<float>{2, 2, 2}, 10, "t", "x", "y");
  EXPECT_EQ(s.find("nan"), std::string::npos);
  EXPECT_EQ(s.find("inf"), std::string::npos);
  EXPECT_EQ(count(s, "<circle"), 3u);
}

TEST(GateReportDoc, RendersMarkdownAndSelfContainedHtml) {
  Doc doc{heading(1, "T"), paragraph("a < b"), table({"h1", "h|2"}, {{"x", "1"}, {"y<", "2"}}), svg("<svg></svg>\n")};
  std::string md = render_markdown(doc);
  EXPECT_NE(md.find("# T\n"), std::string::npos);
  EXPECT_NE(md.find("| h1 | h\\|2 |\n| --- | --- |\n| x | 1 |\n| y< | 2 |\n"), std::string::npos) << md;
  EXPECT_NE(md.find("<svg></svg>"), std::string::npos);
  std::string html = render_html(doc, "T");
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<style>"), std::string::npos);
  EXPECT_NE(html.find("<p>a &lt; b</p>"), std::string::npos);
  EXPECT_NE(html.find("<tr><td>y&lt;</td><td>2</td></tr>"), std::string::npos);
  EXPECT_EQ(count(html, "<tr>"), 3u);
  EXPECT_EQ(html.find("http"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
}

}  // namespace
}  // namespace tinyq::gate
