// index.html: the report as one self-contained page. Inline CSS, no script, no external URL;
// the only links are to the figures and data beside it and to anchors in the page. Every piece
// of text from the report is HTML-escaped.
#include <fmt/format.h>

#include "relulab/study/report.hpp"

namespace relulab::study {
namespace {

// Light theme, system fonts, a readable line length; verdict badges green / amber / red / grey.
constexpr std::string_view kStyle = R"css(
:root { color-scheme: light; }
body { margin: 0; background: #fff; color: #1f2328;
  font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
main { max-width: 60em; margin: 0 auto; padding: 2em 1.25em 4em; }
h1 { font-size: 2em; line-height: 1.2; margin: 0 0 .6em; }
h2 { margin-top: 2.2em; padding-bottom: .25em; border-bottom: 1px solid #d0d7de; }
h3 { margin: 1.4em 0 .3em; font-size: 1.1em; }
a { color: #0969da; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono",
  monospace; font-size: .9em; }
code { background: #f6f8fa; padding: .1em .3em; border-radius: 4px; }
pre { background: #f6f8fa; padding: .6em .8em; overflow-x: auto; white-space: pre-wrap; }
blockquote.claim { margin: 1em 0; padding: .4em 1em; border-left: 4px solid #0072b2;
  background: #f6f8fa; }
.source { color: #57606a; font-size: .95em; }
.table-wrap { overflow-x: auto; margin: 1em 0; }
table { border-collapse: collapse; width: 100%; font-size: .95em; }
caption { caption-side: top; text-align: left; font-weight: 600; padding: .3em 0; }
th, td { border: 1px solid #d0d7de; padding: .35em .65em; text-align: left; vertical-align: top; }
thead th { background: #eef1f4; }
tbody tr:nth-child(even) { background: #f6f8fa; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.badge { display: inline-block; padding: .05em .65em; border: 1px solid; border-radius: 1em;
  font-size: .85em; font-weight: 600; white-space: nowrap; }
.badge.holds { color: #116329; background: #dafbe1; border-color: #4ac26b; }
.badge.holds-partly { color: #7d4e00; background: #fff8c5; border-color: #d4a72c; }
.badge.does-not-hold { color: #a40e26; background: #ffebe9; border-color: #ff8182; }
.badge.inconclusive { color: #0a3069; background: #ddf4ff; border-color: #54aeff; }
.badge.not-measured { color: #57606a; background: #f6f8fa; border-color: #afb8c1; }
figure { margin: 1.5em 0; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid #d0d7de; }
figcaption { color: #57606a; font-size: .9em; margin-top: .35em; }
.missing { margin: 1.5em 0; padding: .2em 1em; border: 1px dashed #d4a72c; background: #fffbe6; }
.reproduce th { width: 10em; background: #f6f8fa; font-weight: 600; }
)css";

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// `text` escaped, with `code` spans as <code>; a backtick without a partner stays a backtick.
std::string inline_html(std::string_view text) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t open = text.find('`', i);
    const std::size_t close = open == std::string_view::npos ? open : text.find('`', open + 1);
    if (close == std::string_view::npos) break;
    out += escape(text.substr(i, open - i));
    out += "<code>" + escape(text.substr(open + 1, close - open - 1)) + "</code>";
    i = close + 1;
  }
  return out + escape(text.substr(std::min(i, text.size())));
}

// Paragraphs separated by blank lines; consecutive lines starting with "- " form a list (a line
// that does not continues the item before it).
std::string prose_html(std::string_view text) {
  std::string out, block;
  enum class Open { kNone, kParagraph, kList } open = Open::kNone;
  const auto flush = [&](bool end_list) {
    if (open == Open::kParagraph) out += "<p>" + inline_html(block) + "</p>\n";
    if (open == Open::kList) out += "<li>" + inline_html(block) + "</li>\n";
    if (open == Open::kList && end_list) out += "</ul>\n";
    block.clear();
  };
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
    if (line.empty()) {
      flush(true);
      open = Open::kNone;
    } else if (line.starts_with("- ")) {
      flush(open != Open::kList);
      if (open != Open::kList) out += "<ul>\n";
      open = Open::kList;
      block = line.substr(2);
    } else if (open == Open::kNone) {
      open = Open::kParagraph;
      block = line;
    } else {
      block += "\n";
      block += line;
    }
  }
  flush(true);
  return out;
}

// "holds partly" -> class "holds-partly"; the text is verdict_text ("inconclusive at 2 seeds").
std::string badge(const Section& section) {
  std::string css_class(to_string(section.verdict));
  for (char& c : css_class) {
    if (c == ' ') c = '-';
  }
  return fmt::format("<span class=\"badge {}\">{}</span>", css_class,
                     escape(verdict_text(section)));
}

std::string table_html(const Table& table) {
  const std::vector<bool> numeric = numeric_columns(table);
  std::string out = "<div class=\"table-wrap\"><table>\n";
  if (!table.caption.empty()) out += "<caption>" + inline_html(table.caption) + "</caption>\n";
  out += "<thead><tr>";
  for (std::size_t c = 0; c < table.header.size(); ++c) {
    out += fmt::format("<th{}>{}</th>", numeric[c] ? " class=\"num\"" : "",
                       inline_html(table.header[c]));
  }
  out += "</tr></thead>\n<tbody>\n";
  for (const std::vector<std::string>& row : table.rows) {
    out += "<tr>";
    for (std::size_t c = 0; c < row.size(); ++c) {
      out += fmt::format("<td{}>{}</td>", numeric[c] ? " class=\"num\"" : "", inline_html(row[c]));
    }
    out += "</tr>\n";
  }
  return out + "</tbody></table></div>\n";
}

std::string figure_html(const Figure& figure, const std::map<std::string, std::string>& missing) {
  const std::string name = escape(figure.name);
  const std::string title = escape(figure.title.empty() ? figure.name : figure.title);
  if (const auto gone = missing.find(figure.name); gone != missing.end()) {
    return fmt::format(
        "<div class=\"missing\">\n<p><strong>Figure not drawn: {1}.</strong></p>\n"
        "<pre>{2}</pre>\n<p>Its numbers are in <a href=\"data/{0}.csv\">data/{0}.csv</a>; "
        "<a href=\"figures/{0}.gp\">figures/{0}.gp</a> draws it (<code>gnuplot {0}.gp</code> in "
        "<code>figures/</code>).</p>\n</div>\n",
        name, title, escape(gone->second));
  }
  return fmt::format(
      "<figure>\n<a href=\"figures/{0}.svg\"><img src=\"figures/{0}.svg\" alt=\"{1}\"></a>\n"
      "<figcaption>{1} &middot; <a href=\"figures/{0}.png\">PNG</a> &middot; "
      "<a href=\"data/{0}.csv\">data (CSV)</a> &middot; "
      "<a href=\"figures/{0}.gp\">gnuplot script</a></figcaption>\n</figure>\n",
      name, title);
}

std::string section_html(const Section& section,
                         const std::map<std::string, std::string>& missing) {
  std::string out = fmt::format("<section id=\"{}\">\n<h2>{}</h2>\n", escape(section.id),
                                inline_html(section.title));
  if (!section.claim.empty()) {
    out += "<blockquote class=\"claim\">\n" + prose_html(section.claim) + "</blockquote>\n";
  }
  if (!section.source.empty()) {
    out += "<p class=\"source\">Source: " + inline_html(section.source) + "</p>\n";
  }
  if (!section.method.empty()) out += "<h3>Method</h3>\n" + prose_html(section.method);
  if (!section.finding.empty()) out += "<h3>Finding</h3>\n" + prose_html(section.finding);
  out += "<p class=\"verdict\"><strong>Verdict:</strong> " + badge(section) + "</p>\n";
  if (!section.rule.empty())
    out += "<p class=\"rule\">Verdict rule: " + inline_html(section.rule) + "</p>\n";
  for (const Table& table : section.tables) out += table_html(table);
  for (const Figure& figure : section.figures) out += figure_html(figure, missing);
  return out + "</section>\n";
}

std::string verdict_table_html(const Report& report) {
  std::string out =
      "<h2 id=\"verdicts\">Verdicts</h2>\n<div class=\"table-wrap\"><table>\n"
      "<thead><tr><th>Section</th><th>Claim</th><th>Verdict</th></tr></thead>\n<tbody>\n";
  for (const Section& section : report.sections) {
    out += fmt::format("<tr><td><a href=\"#{}\">{}</a></td><td>{}</td><td>{}</td></tr>\n",
                       escape(section.id), inline_html(section.title), inline_html(section.claim),
                       badge(section));
  }
  return out + "</tbody></table></div>\n";
}

std::string reproduce_html(const Report& report) {
  std::string out =
      "<section id=\"reproduce\">\n<h2>Reproduce</h2>\n"
      "<div class=\"table-wrap\"><table class=\"reproduce\"><tbody>\n";
  for (const auto& [key, value] : report.reproduce) {
    out += fmt::format("<tr><th scope=\"row\">{}</th><td>{}</td></tr>\n", inline_html(key),
                       inline_html(value));
  }
  return out + "</tbody></table></div>\n</section>\n";
}

}  // namespace

std::string report_html(const Report& report, const std::map<std::string, std::string>& missing) {
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n<main>\n<h1>{}</h1>\n",
      escape(report.title), kStyle, inline_html(report.title));
  out += prose_html(report.summary);
  if (!report.sections.empty()) out += verdict_table_html(report);
  for (const Section& section : report.sections) out += section_html(section, missing);
  if (!report.reproduce.empty()) out += reproduce_html(report);
  return out + "</main>\n</body>\n</html>\n";
}

}  // namespace relulab::study
