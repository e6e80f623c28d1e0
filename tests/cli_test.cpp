// Runs the built `relulab` binary (path from CMake: RELULAB_CLI) and checks its output, the files
// it writes and its exit codes: 0 success, 1 runtime error, 2 usage error.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "cli_runner.hpp"
#include "relulab/activation.hpp"

namespace {

namespace fs = std::filesystem;

using relulab::testing::CommandResult;
using relulab::testing::read_file;
using relulab::testing::run_cli;

// A fresh directory under the test temp dir, removed at the end of the test; the pid keeps two
// builds' test runs apart.
class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           (std::string("relulab_cli_") + test->name() + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(CliTest, ListPrintsEveryActivation) {
  const CommandResult r = run_cli("list");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_EQ(relulab::activation_table().size(), 16u);
  for (const relulab::ActivationInfo& info : relulab::activation_table()) {
    EXPECT_NE(r.output.find(std::string(info.name) + " "), std::string::npos) << info.name;
    EXPECT_NE(r.output.find(std::string(info.pytorch)), std::string::npos) << info.pytorch;
  }
}

TEST_F(CliTest, ActivationsDocMatchesListMarkdown) {
  const CommandResult r = run_cli("list --markdown");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_file(fs::path(RELULAB_SOURCE_DIR) / "docs" / "activations.md"), r.output)
      << "docs/activations.md is out of date; regenerate it with\n  " RELULAB_CLI
         " list --markdown > docs/activations.md";
}

TEST_F(CliTest, HelpDocumentsExitCodes) {
  const CommandResult r = run_cli("--help");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Exit codes: 0 success; 1 runtime error"), std::string::npos) << r.output;
}

TEST_F(CliTest, UnknownActivationIsUsageErrorWithSuggestion) {
  const CommandResult r = run_cli("plot leaky_rleu --out '" + dir_.string() + "'");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("did you mean 'leaky_relu'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("hardswish"), std::string::npos) << "lists valid names: " << r.output;
}

TEST_F(CliTest, UnknownFlagIsUsageError) {
  const CommandResult r = run_cli("list --no-such-flag");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--no-such-flag"), std::string::npos) << r.output;
}

TEST_F(CliTest, MistypedFlagGetsSuggestion) {
  const CommandResult r = run_cli("train --epoch 3 --out '" + dir_.string() + "'");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("unknown flag '--epoch'; did you mean '--epochs'?"), std::string::npos)
      << r.output;
  EXPECT_TRUE(fs::is_empty(dir_)) << "nothing trained";
}

TEST_F(CliTest, MistypedCommandGetsSuggestion) {
  const CommandResult r = run_cli("lsit");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("unknown command 'lsit'; did you mean 'list'?"), std::string::npos)
      << r.output;
}

TEST_F(CliTest, MissingSubcommandIsUsageError) {
  EXPECT_EQ(run_cli("").exit_code, 2);
}

TEST_F(CliTest, NonFiniteParameterIsUsageErrorNamingIt) {
  const CommandResult r =
      run_cli("plot leaky_relu --param negative_slope=inf --out '" + dir_.string() + "'");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("negative_slope"), std::string::npos) << r.output;
}

TEST_F(CliTest, OutOfRangeParameterIsUsageError) {
  const CommandResult r = run_cli("plot elu --param alpha=-1 --out '" + dir_.string() + "'");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("alpha"), std::string::npos) << r.output;
}

TEST_F(CliTest, ParameterNoSelectedActivationHasIsUsageError) {
  const CommandResult r = run_cli("plot relu --param alpha=2 --out '" + dir_.string() + "'");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--param alpha"), std::string::npos) << r.output;
}

TEST_F(CliTest, PlotWritesSvgPngDataAndScript) {
  const CommandResult r =
      run_cli("plot gelu leaky_relu --param negative_slope=0.2 --out '" + dir_.string() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const std::string name : {"gelu", "leaky_relu", "compare"}) {
    const std::string svg = read_file(dir_ / (name + ".svg"));
    ASSERT_FALSE(svg.empty()) << name;
    EXPECT_TRUE(svg.starts_with("<?xml") || svg.starts_with("<svg")) << name;
    EXPECT_NE(svg.find("</svg>", svg.size() > 16 ? svg.size() - 16 : 0), std::string::npos)
        << name << ".svg does not end with </svg>";
    const std::string png = read_file(dir_ / (name + ".png"));
    EXPECT_TRUE(png.starts_with("\x89PNG\r\n\x1a\n")) << name << ".png lacks the PNG signature";
  }
  EXPECT_FALSE(read_file(dir_ / "gelu.dat").empty());
  EXPECT_NE(read_file(dir_ / "plot.gp").find("gelu.dat"), std::string::npos);
  EXPECT_NE(read_file(dir_ / "leaky_relu.dat").find("negative_slope=0.2"), std::string::npos);
  // Nothing temporary is left behind: 2 activations x (dat, svg, png) + compare x 2 + plot.gp.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 9);
}

TEST_F(CliTest, PlotDataComesFromTheKernels) {
  ASSERT_EQ(
      run_cli("plot relu --points 3 --xmin -1 --xmax 1 --out '" + dir_.string() + "'").exit_code,
      0);
  // x, relu(x), relu'(x) with PyTorch's relu'(0) = 0.
  EXPECT_NE(read_file(dir_ / "relu.dat").find("-1 0 0\n0 0 0\n1 1 1\n"), std::string::npos)
      << read_file(dir_ / "relu.dat");
}

TEST_F(CliTest, PlotIntoUnwritableDirectoryIsRuntimeError) {
  std::ofstream(dir_ / "a_file") << "x";
  const CommandResult r = run_cli("plot relu --out '" + (dir_ / "a_file" / "sub").string() + "'");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("cannot create output directory"), std::string::npos) << r.output;
}

TEST_F(CliTest, PlotWithoutGnuplotIsRuntimeError) {
  const CommandResult r = run_cli("plot relu --out '" + dir_.string() + "'", "PATH=/nonexistent");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("gnuplot not found"), std::string::npos) << r.output;
  EXPECT_FALSE(read_file(dir_ / "plot.gp").empty()) << "the script is still written";
}

TEST_F(CliTest, QuickBenchPrintsOneRowPerSizeAndCopyRatio) {
  const CommandResult r = run_cli("bench relu --quick --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("(copy)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("fwd/copy"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("relu "), std::string::npos) << r.output;
}

#ifdef RELULAB_CLI_WITHOUT_MPI
// Built without MPI and started by mpirun as 2 copies (what mpirun's environment says): each copy
// refuses, rather than training the same model twice into the same folder.
TEST(CliWithoutMpi, RefusesToRunAsCopiesUnderMpirun) {
  const CommandResult r = run_cli("train --epochs 1", "OMPI_COMM_WORLD_SIZE=2");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("built without MPI support"), std::string::npos) << r.output;
  EXPECT_EQ(run_cli("list", "OMPI_COMM_WORLD_SIZE=1").exit_code, 0);
}
#endif

}  // namespace
