// report.md and the checks and file writing of write_report; index.html is in report_html.cpp.
#include "relulab/study/report.hpp"

#include <cstdlib>
#include <map>
#include <set>
#include <system_error>

#include <fmt/format.h>

#include "relulab/io/atomic_file.hpp"

namespace relulab::study {
namespace {

namespace fs = std::filesystem;

bool is_valid_id(std::string_view id) {
  if (id.empty()) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Status validate_table(const Section& section, const Table& table) {
  if (table.header.empty()) {
    return Status::invalid_argument(
        fmt::format("section '{}', table '{}' has no header", section.id, table.caption));
  }
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    if (table.rows[r].size() != table.header.size()) {
      return Status::invalid_argument(
          fmt::format("section '{}', table '{}': row {} has {} cells, the header has {}",
                      section.id, table.caption, r, table.rows[r].size(), table.header.size()));
    }
  }
  return Status::ok();
}

Status validate_report(const Report& report) {
  std::set<std::string> ids, figure_names;
  for (const Section& section : report.sections) {
    if (!is_valid_id(section.id) || section.id == "verdicts" || section.id == "reproduce") {
      return Status::invalid_argument(fmt::format(
          "section '{}' ({}): an id is letters, digits, '_' and '-', and not 'verdicts' or "
          "'reproduce' (the page's own anchors)",
          section.id, section.title));
    }
    if (!ids.insert(section.id).second) {
      return Status::invalid_argument(fmt::format("two sections have the id '{}'", section.id));
    }
    for (const Figure& figure : section.figures) {
      RELULAB_TRY(validate_figure(figure));
      if (!figure_names.insert(figure.name).second) {
        return Status::invalid_argument(fmt::format(
            "two figures are named '{}' (the second in section '{}')", figure.name, section.id));
      }
    }
    for (const Table& table : section.tables) RELULAB_TRY(validate_table(section, table));
  }
  return Status::ok();
}

// A number (strtod's syntax) optionally followed by '%' and spaces.
bool reads_as_number(std::string_view cell) {
  std::string text(cell);
  while (!text.empty() && (text.back() == ' ' || text.back() == '%')) text.pop_back();
  if (text.empty() || text.front() == ' ') return false;
  char* end = nullptr;
  std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

// A table cell on one line with '|' escaped.
std::string markdown_cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n' || c == '\r') c = ' ';
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

// Every line of `text` behind "> " (a blockquote of possibly several paragraphs).
std::string markdown_quote(std::string_view text) {
  std::string out = ">";
  for (char c : text) {
    out += c;
    if (c == '\n') out += ">";
  }
  // "> line" rather than ">line": put a space after each '>' that starts a non-empty line.
  std::string spaced;
  for (std::size_t i = 0; i < out.size(); ++i) {
    spaced += out[i];
    const bool line_start = out[i] == '>' && (i == 0 || out[i - 1] == '\n');
    if (line_start && i + 1 < out.size() && out[i + 1] != '\n') spaced += ' ';
  }
  return spaced;
}

std::string markdown_table(const Table& table) {
  std::string out;
  if (!table.caption.empty()) out += fmt::format("**{}**\n\n", markdown_cell(table.caption));
  const std::vector<bool> numeric = numeric_columns(table);
  std::string rule = "|";
  out += "|";
  for (std::size_t c = 0; c < table.header.size(); ++c) {
    out += fmt::format(" {} |", markdown_cell(table.header[c]));
    rule += numeric[c] ? " ---: |" : " --- |";
  }
  out += "\n" + rule + "\n";
  for (const std::vector<std::string>& row : table.rows) {
    out += "|";
    for (const std::string& cell : row) out += fmt::format(" {} |", markdown_cell(cell));
    out += "\n";
  }
  return out + "\n";
}

// `![title](figures/NAME.svg)` with its links, or why it is missing and where its data are.
std::string markdown_figure(const Figure& figure,
                            const std::map<std::string, std::string>& missing) {
  const std::string title = markdown_cell(figure.title.empty() ? figure.name : figure.title);
  std::string alt;
  for (char c : title) {
    if (c == '[' || c == ']') alt += '\\';
    alt += c;
  }
  if (const auto gone = missing.find(figure.name); gone != missing.end()) {
    return fmt::format(
        "> **Figure not drawn: {0}.** {1}\n>\n> Its numbers are in [data/{2}.csv](data/{2}.csv); "
        "[figures/{2}.gp](figures/{2}.gp) draws it (`gnuplot {2}.gp` in `figures/`).\n\n",
        title, markdown_cell(gone->second), figure.name);
  }
  return fmt::format(
      "![{0}](figures/{1}.svg)\n\n*{2}* ([PNG](figures/{1}.png), [data](data/{1}.csv), "
      "[gnuplot script](figures/{1}.gp))\n\n",
      alt, figure.name, title);
}

std::string markdown_section(const Section& section,
                             const std::map<std::string, std::string>& missing) {
  std::string out = fmt::format("## {}\n\n", markdown_cell(section.title));
  if (!section.claim.empty()) out += markdown_quote(section.claim) + "\n\n";
  if (!section.source.empty()) out += fmt::format("Source: {}\n\n", section.source);
  if (!section.method.empty()) out += fmt::format("### Method\n\n{}\n\n", section.method);
  if (!section.finding.empty()) out += fmt::format("### Finding\n\n{}\n\n", section.finding);
  out += fmt::format("**Verdict: {}**\n\n", verdict_text(section));
  if (!section.rule.empty()) out += fmt::format("Verdict rule: {}\n\n", section.rule);
  for (const Table& table : section.tables) out += markdown_table(table);
  for (const Figure& figure : section.figures) out += markdown_figure(figure, missing);
  return out;
}

}  // namespace

std::string_view to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::kHolds:
      return "holds";
    case Verdict::kHoldsPartly:
      return "holds partly";
    case Verdict::kDoesNotHold:
      return "does not hold";
    case Verdict::kInconclusive:
      return "inconclusive";
    case Verdict::kNotMeasured:
      return "not measured";
  }
  return "not measured";
}

std::string verdict_text(const Section& section) {
  if (section.verdict == Verdict::kInconclusive && section.seeds > 0) {
    return fmt::format("inconclusive at {} seed{}", section.seeds, section.seeds == 1 ? "" : "s");
  }
  return std::string(to_string(section.verdict));
}

std::vector<bool> numeric_columns(const Table& table) {
  std::vector<bool> numeric(table.header.size());
  for (std::size_t c = 0; c < numeric.size(); ++c) {
    bool any = false, all = true;
    for (const std::vector<std::string>& row : table.rows) {
      if (c >= row.size() || row[c].empty()) continue;
      any = true;
      all = all && reads_as_number(row[c]);
    }
    numeric[c] = any && all;
  }
  return numeric;
}

std::string report_markdown(const Report& report,
                            const std::map<std::string, std::string>& missing) {
  std::string out = fmt::format("# {}\n\n", markdown_cell(report.title));
  if (!report.summary.empty()) out += report.summary + "\n\n";
  if (!report.sections.empty()) {
    out += "## Verdicts\n\n| Section | Claim | Verdict |\n| --- | --- | --- |\n";
    for (const Section& section : report.sections) {
      out += fmt::format("| {} | {} | **{}** |\n", markdown_cell(section.title),
                         markdown_cell(section.claim), verdict_text(section));
    }
    out += "\n";
  }
  for (const Section& section : report.sections) out += markdown_section(section, missing);
  if (!report.reproduce.empty()) {
    out += "## Reproduce\n\n";
    for (const auto& [key, value] : report.reproduce) {
      out += fmt::format("- **{}:** {}\n", markdown_cell(key), markdown_cell(value));
    }
  }
  return out;
}

Result<ReportFiles> write_report(const Report& report, const fs::path& out_dir,
                                 const GnuplotOptions& options) {
  RELULAB_TRY(validate_report(report));
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) {
    return Status::io_error(
        fmt::format("cannot create the report directory '{}': {}", out_dir.string(), ec.message()));
  }
  ReportFiles files;
  std::map<std::string, std::string> missing;
  for (const Section& section : report.sections) {
    for (const Figure& figure : section.figures) {
      // A file that cannot be written is fatal; a figure gnuplot cannot draw is reported.
      RELULAB_TRY(write_figure_data(figure, out_dir));
      const Status drawn = draw_figure(figure, out_dir, options);
      if (drawn) {
        ++files.figures_drawn;
      } else {
        missing.emplace(figure.name, drawn.message());
        files.figure_errors.push_back(drawn);
      }
    }
  }
  files.markdown = out_dir / "report.md";
  files.html = out_dir / "index.html";
  RELULAB_TRY(io::write_text_atomically(files.markdown, report_markdown(report, missing)));
  RELULAB_TRY(io::write_text_atomically(files.html, report_html(report, missing)));
  return files;
}

}  // namespace relulab::study
