// The report of `relulab study`: measured results in, DIR/report.md and DIR/index.html out,
// with each figure's data, gnuplot script and SVG/PNG drawing beside them (gnuplot.hpp).
//
// Layout of DIR:
//   report.md            title, summary, verdict table, one section per claim, Reproduce
//   index.html           the same, self-contained (inline CSS, no script, no external URL);
//                        it refers only to the local files below
//   figures/NAME.svg|png|gp, data/NAME.csv   one set per figure
//
// Prose fields (summary, claim, source, method, finding, the values of `reproduce`) are
// markdown, copied as they are into report.md. index.html renders the part of markdown they may
// use: a blank line starts a paragraph, lines starting with "- " form a list, `text` is code;
// everything else is shown as written (HTML-escaped).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "relulab/status.hpp"
#include "relulab/study/gnuplot.hpp"

namespace relulab::study {

// kInconclusive: the measured quantity's spread over seeds straddles a threshold of the rule, so
// the seeds disagree on the verdict; more seeds (or a curve) settle it.
enum class Verdict { kHolds, kHoldsPartly, kDoesNotHold, kInconclusive, kNotMeasured };

// "holds", "holds partly", "does not hold", "inconclusive", "not measured".
std::string_view to_string(Verdict verdict);

// Cells are plain text (a '|' or a newline in a cell is escaped in report.md). Every row has
// as many cells as the header.
struct Table {
  std::string caption;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

// Which columns of `table` are right-aligned as numbers: those with at least one non-empty cell
// where every non-empty cell is a number (strtod's syntax) optionally followed by '%'.
std::vector<bool> numeric_columns(const Table& table);

struct Section {
  std::string id;     // anchor in index.html: letters, digits, '_' and '-'; not "verdicts"
                      // or "reproduce"
  std::string title;  // one line
  std::string claim;
  std::string source;   // the citation the claim comes from
  std::string method;   // what was run, how often, on what
  std::string finding;  // the measured answer, with numbers
  Verdict verdict = Verdict::kNotMeasured;
  std::string rule;  // how the numbers map to the verdict, so a reader sees how close it was
  int seeds = 0;     // seeds behind the verdict (0: not seed-based), named when inconclusive
  std::vector<Figure> figures;
  std::vector<Table> tables;
};

// The verdict as the documents and verdicts.json show it: to_string(verdict), and for an
// inconclusive one with seeds > 0, "inconclusive at N seeds".
std::string verdict_text(const Section& section);

struct Report {
  std::string title;
  std::string summary;
  std::vector<Section> sections;
  // Shown in order under "Reproduce": command, seeds, version, CPU, threads, date, data, ...
  std::vector<std::pair<std::string, std::string>> reproduce;
};

struct ReportFiles {
  std::filesystem::path markdown, html;
  std::size_t figures_drawn = 0;
  // One io_error per figure that could not be drawn (gnuplot missing or failing). Its CSV and
  // script are still written, and both documents say it is missing and link to them.
  std::vector<Status> figure_errors;
};

// Writes every figure (write_figure), then report.md and index.html, each atomically, creating
// `out_dir` if needed. A figure gnuplot cannot draw does not stop the report: it is listed in
// ReportFiles::figure_errors. Errors: invalid_argument (nothing written) for a bad figure
// (validate_figure), a section id that is empty, not [A-Za-z0-9_-] or repeated, a figure name
// used twice, or a table row whose length differs from its header; io_error when a directory,
// CSV, script or one of the two documents cannot be written.
Result<ReportFiles> write_report(const Report& report, const std::filesystem::path& out_dir,
                                 const GnuplotOptions& options = {});

// The two documents as text (write_report writes these). `missing` maps the name of each figure
// that was not drawn to why; the documents show that in place of the image.
std::string report_markdown(const Report& report,
                            const std::map<std::string, std::string>& missing = {});
std::string report_html(const Report& report,
                        const std::map<std::string, std::string>& missing = {});

}  // namespace relulab::study
