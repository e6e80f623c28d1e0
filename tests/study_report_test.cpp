// The study report writer: report.md and index.html (content, escaping, local links only) and
// figures (CSV data, gnuplot script, SVG and PNG), with every error path. Checks that need
// gnuplot are skipped when it is not installed.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "relulab/study/gnuplot.hpp"
#include "relulab/study/report.hpp"

namespace {

namespace fs = std::filesystem;
using relulab::StatusCode;
using namespace relulab::study;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// Text a careless writer would turn into markup.
constexpr const char* kHostile = "<b>x</b> & \"q\" 'a' <script>";

Figure loss_figure() {
  Figure figure{"loss", "Training loss", "epoch", "cross-entropy", false, true, {}};
  figure.series.push_back({"relu", {1, 2, 3, 4}, {2.0, 1.0, 0.5, 0.25}, {}, {}});
  figure.series.push_back({"leaky_relu, 0.01", {1, 2, 3, 4}, {2.2, 1.1, 0.6, 0.3}, {}, {}});
  return figure;
}

Figure band_figure() {
  Figure figure{"dead", "Dead units over seeds", "depth", "dead fraction", false, false, {}};
  Series series{"relu (min..max over 5 seeds)", {}, {}, {}, {}};
  for (int i = 0; i < 40; ++i) {
    const double depth = 1 + i;
    series.x.push_back(depth);
    series.y.push_back(0.01 * depth);
    series.low.push_back(0.008 * depth);
    series.high.push_back(0.013 * depth);
  }
  figure.series.push_back(series);
  return figure;
}

Figure hostile_figure() {
  Figure figure{"hostile", kHostile, "x \"in\"", "y\\n", false, false, {}};
  figure.series.push_back({kHostile, {0, 1, 2}, {0, 1, 4}, {}, {}});
  return figure;
}

Report sample_report() {
  Report report;
  report.title = "ReLU claims, measured";
  report.summary = "Two claims.\n\nRun with `relulab study`.";
  Section dead;
  dead.id = "dead-relus";
  dead.title = "Dead ReLUs";
  dead.claim = "A large learning rate kills ReLU units.";
  dead.source = "Lu et al. 2019";
  dead.method = "- 5 seeds\n- depth 1..40";
  dead.finding = "At lr 1.0, 31% of units are dead.";
  dead.verdict = Verdict::kHoldsPartly;
  dead.rule = "holds when at least 5% of units die at lr 1.0 & 0.1; partly at lr 1.0 alone.";
  dead.figures = {band_figure()};
  dead.tables.push_back({"Dead fraction", {"lr", "dead"}, {{"0.1", "2%"}, {"1.0", "31%"}}});
  Section loss;
  loss.id = "loss";
  loss.title = "Leaky ReLU trains as fast";
  loss.claim = kHostile;
  loss.source = "Maas et al. 2013";
  loss.method = "Fashion-MNIST, MLP 512-512.";
  loss.finding = "Same loss within 0.01 | after 4 epochs.";
  loss.verdict = Verdict::kDoesNotHold;
  loss.figures = {loss_figure(), hostile_figure()};
  loss.tables.push_back(
      {"Final loss", {"activation", "loss"}, {{"relu", "0.25"}, {kHostile, "0.3"}}});
  report.sections = {dead, loss};
  report.reproduce = {{"command", "`relulab study --quick`"}, {"seeds", "1 2 3 4 5"}};
  return report;
}

// Every src="..." and href="..." value in `html`.
std::vector<std::string> links(const std::string& html) {
  static const std::regex kLink(R"re((?:src|href)\s*=\s*"([^"]*)")re");
  std::vector<std::string> out;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), kLink);
       it != std::sregex_iterator(); ++it) {
    out.push_back((*it)[1]);
  }
  return out;
}

std::set<std::string> element_ids(const std::string& html) {
  static const std::regex kId(R"re(\sid="([^"]*)")re");
  std::set<std::string> out;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), kId); it != std::sregex_iterator();
       ++it) {
    out.insert((*it)[1]);
  }
  return out;
}

// Every link is "#id" of an element in the page or a relative path to a file in `dir`.
void expect_local_links(const std::string& html, const fs::path& dir) {
  const std::set<std::string> ids = element_ids(html);
  const std::vector<std::string> found = links(html);
  EXPECT_FALSE(found.empty());
  for (const std::string& link : found) {
    ASSERT_FALSE(link.empty());
    if (link.front() == '#') {
      EXPECT_TRUE(ids.count(link.substr(1))) << link << " names no element";
      continue;
    }
    EXPECT_NE(link.front(), '/') << link;
    EXPECT_FALSE(contains(link, ":")) << link << " has a scheme";
    EXPECT_FALSE(contains(link, "..")) << link;
    EXPECT_TRUE(fs::is_regular_file(dir / link)) << link << " does not exist";
  }
  EXPECT_FALSE(contains(html, "http://") || contains(html, "https://") || contains(html, "url("));
  EXPECT_FALSE(contains(html, "<script") || contains(html, "<link"));
}

bool gnuplot_installed() {
  return check_gnuplot().is_ok();
}

// A stand-in for gnuplot: a shell script in `dir` with body `body`.
std::string fake_gnuplot(const fs::path& dir, const std::string& body) {
  const fs::path path = dir / "fake-gnuplot";
  std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
  fs::permissions(path, fs::perms::owner_all);
  return path.string();
}

// No temporary file or directory left anywhere under `dir`.
void expect_no_temporaries(const fs::path& dir) {
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    EXPECT_FALSE(contains(name, ".tmp") || name.starts_with(".gnuplot")) << entry.path();
  }
}

class StudyReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           (std::string("relulab_report_") + test->name() + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    out_ = dir_ / "out";
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_, out_;
};

TEST(Verdict, Names) {
  EXPECT_EQ(to_string(Verdict::kHolds), "holds");
  EXPECT_EQ(to_string(Verdict::kHoldsPartly), "holds partly");
  EXPECT_EQ(to_string(Verdict::kDoesNotHold), "does not hold");
  EXPECT_EQ(to_string(Verdict::kNotMeasured), "not measured");
  EXPECT_EQ(to_string(Verdict::kInconclusive), "inconclusive");
}

// An inconclusive verdict names the seeds it rests on, in the verdict table and in the section.
TEST(Verdict, InconclusiveNamesItsSeeds) {
  Report report = sample_report();
  Section& dead = report.sections[0];
  dead.verdict = Verdict::kInconclusive;
  dead.seeds = 3;
  EXPECT_EQ(verdict_text(dead), "inconclusive at 3 seeds");
  const std::string md = report_markdown(report);
  EXPECT_TRUE(
      contains(md, "| A large learning rate kills ReLU units. | **inconclusive at 3 seeds** |"));
  EXPECT_TRUE(contains(md, "**Verdict: inconclusive at 3 seeds**"));
  EXPECT_TRUE(contains(report_html(report),
                       "<span class=\"badge inconclusive\">inconclusive at 3 seeds</span>"));
  dead.seeds = 1;
  EXPECT_EQ(verdict_text(dead), "inconclusive at 1 seed");
  dead.seeds = 0;  // not seed-based
  EXPECT_EQ(verdict_text(dead), "inconclusive");
  dead.verdict = Verdict::kHolds;
  dead.seeds = 3;  // a verdict that holds says only that
  EXPECT_EQ(verdict_text(dead), "holds");
}

TEST(NumericColumns, NumbersAndPercentagesButNotText) {
  const Table table{"", {"a", "b", "c", "d"}, {{"1.5", "2%", "relu", ""}, {"-3e-4", "", "4", ""}}};
  EXPECT_EQ(numeric_columns(table), (std::vector<bool>{true, true, false, false}));
}

TEST(ReportText, MarkdownHasTitleSummaryVerdictsSectionsTablesFiguresAndReproduce) {
  const std::string md = report_markdown(sample_report());
  EXPECT_TRUE(md.starts_with("# ReLU claims, measured\n\nTwo claims."));
  EXPECT_TRUE(contains(md,
                       "| Dead ReLUs | A large learning rate kills ReLU units. | **holds "
                       "partly** |"));
  EXPECT_TRUE(contains(md,
                       "## Dead ReLUs\n\n> A large learning rate kills ReLU units.\n\n"
                       "Source: Lu et al. 2019"));
  EXPECT_TRUE(contains(md, "### Method\n\n- 5 seeds\n- depth 1..40\n"));
  EXPECT_TRUE(contains(md, "**Verdict: does not hold**"));
  EXPECT_TRUE(contains(md,
                       "**Verdict: holds partly**\n\nVerdict rule: holds when at least 5% of "
                       "units die at lr 1.0 & 0.1; partly at lr 1.0 alone.\n"));
  EXPECT_EQ(md.find("Verdict rule:"), md.rfind("Verdict rule:")) << "only where a rule is given";
  EXPECT_TRUE(contains(md, "| lr | dead |\n| ---: | ---: |\n| 0.1 | 2% |\n| 1.0 | 31% |\n"));
  EXPECT_TRUE(contains(md, "![Training loss](figures/loss.svg)"));
  EXPECT_TRUE(contains(md, "[data](data/dead.csv)"));
  EXPECT_TRUE(contains(md, "## Reproduce\n\n- **command:** `relulab study --quick`\n"));
  EXPECT_TRUE(contains(md, "**Final loss**\n\n| activation | loss |\n| --- | ---: |\n"));
  // report.md takes text as markdown: cells and prose are copied as written.
  EXPECT_TRUE(contains(md, R"(| <b>x</b> & "q" 'a' <script> | 0.3 |)"));
  EXPECT_TRUE(contains(md, "Same loss within 0.01 | after 4 epochs."));
}

TEST(ReportText, MarkdownEscapesPipesInCells) {
  Report report;
  report.title = "t";
  Section section;
  section.id = "s";
  section.title = "a | b";
  section.tables.push_back({"c", {"x|y"}, {{"1|2"}, {"line\nbreak"}}});
  report.sections = {section};
  const std::string md = report_markdown(report);
  EXPECT_TRUE(contains(md, "| a \\| b |"));
  EXPECT_TRUE(contains(md, "| x\\|y |\n| --- |\n| 1\\|2 |\n| line break |\n"));
}

TEST(ReportText, HtmlEscapesEveryText) {
  const std::string html = report_html(sample_report(), {{"hostile", kHostile}});
  EXPECT_FALSE(contains(html, kHostile));
  EXPECT_FALSE(contains(html, "<b>"));
  const std::string escaped = "&lt;b&gt;x&lt;/b&gt; &amp; &quot;q&quot; &#39;a&#39; &lt;script&gt;";
  // claim (twice: verdict table and section), table cell, figure title (missing: in place of
  // the image) and the reason it is missing.
  std::size_t count = 0;
  for (std::size_t at = html.find(escaped); at != std::string::npos;
       at = html.find(escaped, at + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 5u) << html;
}

TEST(ReportText, HtmlRendersCodeParagraphsListsAndBadges) {
  const std::string html = report_html(sample_report());
  EXPECT_TRUE(contains(html, "<p>Two claims.</p>\n<p>Run with <code>relulab study</code>.</p>"));
  EXPECT_TRUE(contains(html, "<ul>\n<li>5 seeds</li>\n<li>depth 1..40</li>\n</ul>"));
  EXPECT_TRUE(contains(html, "<span class=\"badge holds-partly\">holds partly</span>"));
  EXPECT_TRUE(contains(html, "<span class=\"badge does-not-hold\">does not hold</span>"));
  EXPECT_TRUE(contains(html,
                       "<p class=\"rule\">Verdict rule: holds when at least 5% of units die "
                       "at lr 1.0 &amp; 0.1; partly at lr 1.0 alone.</p>"));
  EXPECT_TRUE(contains(html, "<a href=\"#dead-relus\">Dead ReLUs</a>"));
  EXPECT_TRUE(contains(html, "<section id=\"dead-relus\">"));
  EXPECT_TRUE(contains(html, "<td class=\"num\">31%</td>"));
  EXPECT_TRUE(contains(html, "<img src=\"figures/loss.svg\" alt=\"Training loss\">"));
  EXPECT_TRUE(contains(html, "<td><code>relulab study --quick</code></td>"));
  EXPECT_TRUE(html.starts_with("<!DOCTYPE html>"));
  EXPECT_TRUE(html.ends_with("</html>\n"));
}

TEST_F(StudyReportTest, WritesReportWithEveryFigureDrawn) {
  if (!gnuplot_installed()) GTEST_SKIP() << "gnuplot is not installed";
  const Report report = sample_report();
  const relulab::Result<ReportFiles> written = write_report(report, out_);
  ASSERT_TRUE(written.is_ok()) << written.status().message();
  EXPECT_EQ(written.value().figures_drawn, 3u);
  EXPECT_TRUE(written.value().figure_errors.empty());
  EXPECT_EQ(written.value().markdown, out_ / "report.md");

  const std::string md = read_file(out_ / "report.md");
  const std::string html = read_file(out_ / "index.html");
  EXPECT_EQ(md, report_markdown(report));
  EXPECT_EQ(html, report_html(report));
  for (const Section& section : report.sections) {
    EXPECT_TRUE(contains(md, section.title) && contains(html, section.title)) << section.title;
    EXPECT_TRUE(contains(md, to_string(section.verdict)) &&
                contains(html, to_string(section.verdict)));
  }
  for (const std::string cell : {"31%", "0.25", "Dead fraction", "Final loss"}) {
    EXPECT_TRUE(contains(md, cell) && contains(html, cell)) << cell;
  }
  expect_local_links(html, out_);
  expect_no_temporaries(out_);

  for (const std::string name : {"loss", "dead", "hostile"}) {
    const std::string svg = read_file(out_ / "figures" / (name + ".svg"));
    EXPECT_TRUE(svg.starts_with("<?xml") || svg.starts_with("<svg")) << name;
    EXPECT_TRUE(contains(svg, "<svg") && svg.find("</svg>") > svg.size() - 16) << name;
    const std::string png = read_file(out_ / "figures" / (name + ".png"));
    EXPECT_TRUE(png.starts_with("\x89PNG\r\n\x1a\n")) << name;
    EXPECT_GT(png.size(), 1024u) << name;
    EXPECT_TRUE(fs::is_regular_file(out_ / "data" / (name + ".csv"))) << name;
  }
  // Labels reach the drawing escaped for XML, not as markup.
  const std::string hostile_svg = read_file(out_ / "figures" / "hostile.svg");
  EXPECT_FALSE(contains(hostile_svg, "<script>"));
  EXPECT_TRUE(contains(hostile_svg, "&lt;script")) << "gnuplot escapes &lt; and &amp; in SVG text";
}

TEST_F(StudyReportTest, CsvHoldsOneBlockPerSeriesAndTheBand) {
  Figure figure = loss_figure();
  figure.series[0].y[1] = std::numeric_limits<double>::quiet_NaN();
  figure.series[1].y[2] = 0.1 + 0.2;  // 0.30000000000000004 must survive
  ASSERT_TRUE(write_figure_data(figure, out_).is_ok());
  EXPECT_EQ(read_file(out_ / "data" / "loss.csv"),
            "x,y,low,high,series\n"
            "1,2,,,relu\n2,nan,,,relu\n3,0.5,,,relu\n4,0.25,,,relu\n\n\n"
            "1,2.2,,,\"leaky_relu, 0.01\"\n2,1.1,,,\"leaky_relu, 0.01\"\n"
            "3,0.30000000000000004,,,\"leaky_relu, 0.01\"\n4,0.3,,,\"leaky_relu, 0.01\"\n");
  ASSERT_TRUE(write_figure_data(band_figure(), out_).is_ok());
  EXPECT_TRUE(
      read_file(out_ / "data" / "dead.csv")
          .starts_with("x,y,low,high,series\n1,0.01,0.008,0.013,relu (min..max over 5 seeds)\n"));
}

TEST_F(StudyReportTest, ScriptReadsRelativeDataAndDrawsBandsAndLogAxes) {
  ASSERT_TRUE(write_figure_data(loss_figure(), out_).is_ok());
  ASSERT_TRUE(write_figure_data(band_figure(), out_).is_ok());
  const std::string loss = read_file(out_ / "figures" / "loss.gp");
  const std::string dead = read_file(out_ / "figures" / "dead.gp");
  EXPECT_TRUE(contains(loss, "data = '../data/loss.csv'"));
  EXPECT_TRUE(contains(loss, "set logscale y\n"));
  EXPECT_FALSE(contains(loss, "logscale x"));
  EXPECT_FALSE(contains(loss, "filledcurves"));
  EXPECT_TRUE(contains(loss, "title \"leaky_relu, 0.01\""));
  EXPECT_TRUE(contains(dead, "data index 0 using 1:3:4 with filledcurves"));
  EXPECT_FALSE(contains(dead, "logscale"));
  // Epochs 1..4 get one tick each; depths 1..40 keep gnuplot's ticks.
  EXPECT_TRUE(contains(loss, "set xtics 1\n"));
  EXPECT_FALSE(contains(dead, "set xtics 1\n"));
  EXPECT_FALSE(contains(loss + dead, out_.string())) << "paths in the script are relative";
  // A points-only series (runs that diverged) is drawn as marks, the others keep their lines.
  Figure marked = loss_figure();
  marked.name = "marked";
  marked.series[1].points_only = true;
  ASSERT_TRUE(write_figure_data(marked, out_).is_ok());
  const std::string gp = read_file(out_ / "figures" / "marked.gp");
  EXPECT_TRUE(contains(gp, "data index 0 using 1:2 with linespoints")) << gp;
  EXPECT_TRUE(contains(gp, "data index 1 using 1:2 with points pt 6")) << gp;
}

TEST_F(StudyReportTest, BadFiguresAreInvalidArgumentsAndWriteNothing) {
  Figure no_series{"empty", "Empty", "x", "y", false, false, {}};
  Figure mismatched = loss_figure();
  mismatched.series[1].y.pop_back();
  Figure half_band = band_figure();
  half_band.series[0].high.clear();
  Figure short_band = band_figure();
  short_band.series[0].low.pop_back();
  short_band.series[0].high.pop_back();
  Figure no_points = loss_figure();
  no_points.series[0].x.clear();
  no_points.series[0].y.clear();
  Figure bad_name = loss_figure();
  bad_name.name = "../escape";
  const std::vector<std::pair<Figure, std::string>> cases = {
      {no_series, "figure 'empty' has no series"},
      {mismatched, "series 1 ('leaky_relu, 0.01') has 4 x values but 3 y values"},
      {half_band, "has 40 low and 0 high values"},
      {short_band, "has 39 low and 39 high values; need none or 40"},
      {no_points, "figure 'loss', series 0 ('relu') has no points"},
      {bad_name, "figure '../escape'"},
  };
  for (const auto& [figure, message] : cases) {
    const relulab::Status status = write_figure(figure, out_);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << message;
    EXPECT_TRUE(contains(status.message(), message)) << status.message();
  }
  EXPECT_FALSE(fs::exists(out_));
}

TEST_F(StudyReportTest, BadReportsAreInvalidArgumentsAndWriteNothing) {
  std::vector<std::pair<Report, std::string>> cases;
  Report report = sample_report();
  report.sections[1].id = "dead-relus";
  cases.push_back({report, "two sections have the id 'dead-relus'"});
  report = sample_report();
  report.sections[1].figures.push_back(band_figure());
  cases.push_back({report, "two figures are named 'dead'"});
  report = sample_report();
  report.sections[0].tables[0].rows[1].push_back("extra");
  cases.push_back({report, "table 'Dead fraction': row 1 has 3 cells, the header has 2"});
  report = sample_report();
  report.sections[0].id = "verdicts";
  cases.push_back({report, "section 'verdicts'"});
  report = sample_report();
  report.sections[0].id = "has space";
  cases.push_back({report, "section 'has space'"});
  report = sample_report();
  report.sections[0].figures[0].series.clear();
  cases.push_back({report, "figure 'dead' has no series"});
  for (const auto& [bad, message] : cases) {
    const relulab::Result<ReportFiles> written = write_report(bad, out_);
    ASSERT_FALSE(written.is_ok()) << message;
    EXPECT_EQ(written.status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(contains(written.status().message(), message)) << written.status().message();
  }
  EXPECT_FALSE(fs::exists(out_));
}

TEST_F(StudyReportTest, MissingGnuplotSaysHowToInstallItAndKeepsDataAndScript) {
  const GnuplotOptions absent{(dir_ / "no-such-gnuplot").string()};
  const relulab::Status status = write_figure(loss_figure(), out_, absent);
  EXPECT_EQ(status.code(), StatusCode::kIoError);
  EXPECT_TRUE(contains(status.message(), "figure 'loss'")) << status.message();
  EXPECT_TRUE(contains(status.message(), "gnuplot not found")) << status.message();
  EXPECT_TRUE(contains(status.message(), "apt-get install gnuplot-nox")) << status.message();
  EXPECT_TRUE(fs::is_regular_file(out_ / "data" / "loss.csv"));
  EXPECT_TRUE(fs::is_regular_file(out_ / "figures" / "loss.gp"));
  EXPECT_FALSE(fs::exists(out_ / "figures" / "loss.svg"));
  expect_no_temporaries(out_);
  EXPECT_EQ(check_gnuplot(absent).code(), StatusCode::kIoError);
}

TEST_F(StudyReportTest, ReportWithoutGnuplotStillWritesDocumentsThatSayFiguresAreMissing) {
  const GnuplotOptions absent{(dir_ / "no-such-gnuplot").string()};
  const relulab::Result<ReportFiles> written = write_report(sample_report(), out_, absent);
  ASSERT_TRUE(written.is_ok()) << written.status().message();
  EXPECT_EQ(written.value().figures_drawn, 0u);
  ASSERT_EQ(written.value().figure_errors.size(), 3u);
  EXPECT_TRUE(contains(written.value().figure_errors[0].message(), "gnuplot not found"));
  const std::string md = read_file(out_ / "report.md");
  const std::string html = read_file(out_ / "index.html");
  EXPECT_TRUE(contains(md, "**Figure not drawn: Training loss.**"));
  EXPECT_TRUE(contains(md, "[data/loss.csv](data/loss.csv)"));
  EXPECT_FALSE(contains(md, "figures/loss.svg"));
  EXPECT_TRUE(contains(html, "Figure not drawn: Training loss."));
  EXPECT_FALSE(contains(html, "<img"));
  expect_local_links(html, out_);  // the CSV and script links exist
}

TEST_F(StudyReportTest, GnuplotFailureReportsItsExitStatusAndOutput) {
  const GnuplotOptions failing{fake_gnuplot(dir_, "echo 'line 7: no such thing' >&2; exit 3")};
  const relulab::Status status = write_figure(loss_figure(), out_, failing);
  EXPECT_EQ(status.code(), StatusCode::kIoError);
  EXPECT_TRUE(contains(status.message(), "figure 'loss'")) << status.message();
  EXPECT_TRUE(contains(status.message(), "exit status 3")) << status.message();
  EXPECT_TRUE(contains(status.message(), "line 7: no such thing")) << status.message();
  expect_no_temporaries(out_);
}

TEST_F(StudyReportTest, GnuplotThatWritesNoImageIsAnError) {
  const GnuplotOptions silent{fake_gnuplot(dir_, "exit 0")};
  const relulab::Status status = write_figure(loss_figure(), out_, silent);
  EXPECT_EQ(status.code(), StatusCode::kIoError);
  EXPECT_TRUE(contains(status.message(), "wrote no loss.svg")) << status.message();
  EXPECT_TRUE(check_gnuplot(silent).is_ok());
  expect_no_temporaries(out_);
}

TEST_F(StudyReportTest, GnuplotErrorMessageReachesTheCaller) {
  if (!gnuplot_installed()) GTEST_SKIP() << "gnuplot is not installed";
  Figure figure = loss_figure();
  for (Series& series : figure.series) {
    for (double& y : series.y) y = -1.0;  // nothing to draw on a log axis
  }
  const relulab::Status status = write_figure(figure, out_);
  EXPECT_EQ(status.code(), StatusCode::kIoError);
  EXPECT_TRUE(contains(status.message(), "figure 'loss'")) << status.message();
  EXPECT_TRUE(contains(status.message(), "loss.gp")) << status.message();
  EXPECT_TRUE(contains(status.message(), "undefined")) << status.message();
  expect_no_temporaries(out_);
}

}  // namespace
