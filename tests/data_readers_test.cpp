// The file readers (IDX, CIFAR, CSV, gzip) and load_dataset, on small files generated into a
// temporary directory: valid files read back exactly, and every malformed file gives a Status
// whose message names the file and the offset (or line and column) of the fault.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "relulab/data/cifar.hpp"
#include "relulab/data/csv.hpp"
#include "relulab/data/dataset.hpp"
#include "relulab/data/file_bytes.hpp"
#include "relulab/data/idx.hpp"

namespace relulab::data {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

// A fresh directory per test, removed afterwards.
class DataFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("relulab_data_" + std::to_string(getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write(const std::string& name, const Bytes& bytes) const {
    std::ofstream(dir_ / name, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    return dir_ / name;
  }
  fs::path write(const std::string& name, const std::string& text) const {
    return write(name, Bytes(text.begin(), text.end()));
  }

  fs::path dir_;
};

Bytes gzip(const Bytes& raw) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  Bytes out(deflateBound(&z, raw.size()) + 32);
  z.next_in = const_cast<Bytef*>(raw.data());
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

void put_be32(Bytes& b, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<std::uint8_t>(v >> shift));
}

// An IDX file: magic, dimensions, then `data`.
Bytes idx(std::uint32_t magic, const std::vector<std::uint32_t>& dims, const Bytes& data) {
  Bytes b;
  put_be32(b, magic);
  for (const std::uint32_t d : dims) put_be32(b, d);
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

// n images of h x w with pixel i = (37 * i + 11) mod 256: 0 and 255 both appear for n*h*w >= 256.
Bytes pixels(std::size_t count) {
  Bytes p(count);
  for (std::size_t i = 0; i < count; ++i) p[i] = static_cast<std::uint8_t>((37 * i + 11) % 256);
  return p;
}

Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Expects an error of `code` whose message contains every one of `parts`.
template <class T>
void expect_error(const Result<T>& result, StatusCode code, const std::vector<std::string>& parts) {
  ASSERT_FALSE(result.is_ok()) << "expected an error mentioning " << parts.front();
  const Status s = result.status();
  EXPECT_EQ(s.code(), code) << s.message();
  for (const std::string& part : parts) {
    EXPECT_NE(s.message().find(part), std::string::npos)
        << "'" << part << "' not in: " << s.message();
  }
}

// --- gzip and file bytes -------------------------------------------------------------------------

TEST_F(DataFiles, ReadsRawAndGzipFilesWhole) {
  const Bytes raw = pixels(100000);
  bool gz = true;
  const auto plain = read_file_bytes(write("raw.bin", raw), 1 << 20, &gz);
  ASSERT_TRUE(plain.is_ok()) << plain.status().message();
  EXPECT_EQ(plain.value(), raw);
  EXPECT_FALSE(gz);
  const auto unzipped = read_file_bytes(write("raw.bin.gz", gzip(raw)), 1 << 20, &gz);
  ASSERT_TRUE(unzipped.is_ok()) << unzipped.status().message();
  EXPECT_EQ(unzipped.value(), raw);
  EXPECT_TRUE(gz);
  // Concatenated members read as one stream, as gzip -d does.
  const auto two = read_file_bytes(write("two.gz", cat(gzip(raw), gzip({1, 2, 3}))), 1 << 20);
  ASSERT_TRUE(two.is_ok()) << two.status().message();
  EXPECT_EQ(two.value(), cat(raw, {1, 2, 3}));
  // The same from memory.
  const auto decoded = decode_bytes(gzip(raw), "memory.gz", 1 << 20);
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().message();
  EXPECT_EQ(decoded.value(), raw);
  EXPECT_EQ(decode_bytes(raw, "memory", raw.size()).value(), raw);
  expect_error(decode_bytes(raw, "memory", raw.size() - 1), StatusCode::kCorruptData,
               {"memory", "100000 bytes", "at most 99999"});
  const auto empty = read_file_bytes(write("empty", Bytes{}), 16);
  ASSERT_TRUE(empty.is_ok());
  EXPECT_TRUE(empty.value().empty());
}

TEST_F(DataFiles, MissingFileAndDirectoryAreIoErrors) {
  expect_error(read_file_bytes(dir_ / "nope.idx", 100), StatusCode::kIoError,
               {"nope.idx", "cannot open"});
  expect_error(read_file_bytes(dir_, 100), StatusCode::kIoError, {dir_.string(), "directory"});
}

TEST_F(DataFiles, RawFileLargerThanCapIsRefusedBeforeReading) {
  const fs::path file = write("big.bin", pixels(1000));
  expect_error(read_file_bytes(file, 999), StatusCode::kCorruptData,
               {"big.bin", "1000 bytes", "at most 999"});
  EXPECT_TRUE(read_file_bytes(file, 1000).is_ok());
}

TEST_F(DataFiles, GzipBombStopsAtCap) {
  // 16 MiB of zeros compress to about 16 KiB; a 1 MiB cap must stop the inflation.
  const Bytes bomb = gzip(Bytes(std::size_t{16} << 20, 0));
  ASSERT_LT(bomb.size(), std::size_t{32} << 10);
  const fs::path file = write("bomb.gz", bomb);
  expect_error(read_file_bytes(file, 1 << 20), StatusCode::kCorruptData,
               {"bomb.gz", "compressed byte", "exceed 1048576 bytes", "gzip bomb"});
  expect_error(gunzip(bomb, "in-memory", 1 << 20), StatusCode::kCorruptData,
               {"in-memory", "exceed 1048576 bytes"});
}

TEST_F(DataFiles, CorruptGzipNamesCompressedOffset) {
  Bytes gz = gzip(pixels(5000));
  gz[gz.size() / 2] ^= 0x55;  // the CRC-32 check catches what the deflate decoder does not
  expect_error(read_file_bytes(write("corrupt.gz", gz), 1 << 20), StatusCode::kCorruptData,
               {"corrupt.gz", "compressed byte", "corrupt gzip stream"});
  Bytes truncated = gzip(pixels(5000));
  // erase, not resize(size() - 9): GCC 12 at -O1 with ASan reports a false -Wstringop-overflow.
  truncated.erase(truncated.end() - 9, truncated.end());
  expect_error(
      read_file_bytes(write("truncated.gz", truncated), 1 << 20), StatusCode::kCorruptData,
      {"truncated.gz", "compressed byte " + std::to_string(truncated.size()), "ends early"});
  const Bytes member = gzip(pixels(100));
  expect_error(read_file_bytes(write("trailing.gz", cat(member, {'j', 'u', 'n', 'k'})), 1 << 20),
               StatusCode::kCorruptData,
               {"trailing.gz", "after the gzip member that ends at compressed byte " +
                                   std::to_string(member.size())});
  expect_error(gunzip(Bytes{0x1f, 0x8b}, "stub", 100), StatusCode::kCorruptData,
               {"stub", "ends early"});
}

// --- IDX -----------------------------------------------------------------------------------------

constexpr std::uint32_t kImages = 0x803;
constexpr std::uint32_t kLabels = 0x801;

TEST_F(DataFiles, IdxReadsBackExactlyRawAndGzip) {
  const Bytes image_data = pixels(3 * 16 * 8);
  const Bytes label_data = {0, 9, 4};
  const Bytes images = idx(kImages, {3, 16, 8}, image_data);
  const Bytes labels = idx(kLabels, {3}, label_data);
  for (const bool gz : {false, true}) {
    const fs::path image_file = write(gz ? "i.gz" : "i", gz ? gzip(images) : images);
    const fs::path label_file = write(gz ? "l.gz" : "l", gz ? gzip(labels) : labels);
    const Result<Dataset> data = read_idx(image_file, label_file);
    ASSERT_TRUE(data.is_ok()) << data.status().message();
    const Dataset& d = data.value();
    EXPECT_EQ(d.features.shape(), (Shape{3, 1, 16, 8}));
    for (std::size_t i = 0; i < image_data.size(); ++i) {
      ASSERT_EQ(d.features[i], static_cast<float>(image_data[i]) / 255.0f) << i;
    }
    EXPECT_EQ(d.labels, (std::vector<std::int32_t>{0, 9, 4}));
    EXPECT_EQ(d.num_classes, 10);
    EXPECT_EQ(d.source, image_file.string());
  }
}

TEST_F(DataFiles, IdxTruncatedHeaderAndWrongMagic) {
  const fs::path labels = write("labels", idx(kLabels, {1}, {0}));
  expect_error(read_idx(write("short", Bytes{0, 0, 8}), labels), StatusCode::kCorruptData,
               {"short", "byte 0", "0x00000803", "found only 3 bytes"});
  expect_error(read_idx(write("dims", Bytes{0, 0, 8, 3, 0, 0, 0, 1, 0, 0}), labels),
               StatusCode::kCorruptData, {"dims", "byte 4", "truncated header", "found only 10"});
  expect_error(read_idx(write("magic", idx(0x801, {1}, {0})), labels), StatusCode::kCorruptData,
               {"magic", "byte 0", "expected the IDX magic number 0x00000803", "found 0x00000801"});
  expect_error(read_idx(write("float", idx(0xd03, {1, 1, 1}, {0, 0, 0, 0})), labels),
               StatusCode::kCorruptData, {"float", "found 0x00000d03"});
  const fs::path images = write("images", idx(kImages, {1, 1, 1}, {7}));
  expect_error(read_idx(images, write("lmagic", idx(kImages, {1, 1, 1}, {0}))),
               StatusCode::kCorruptData, {"lmagic", "byte 0", "0x00000801", "found 0x00000803"});
}

TEST_F(DataFiles, IdxDimensionsOverflowOrDisagreeWithSize) {
  const fs::path labels = write("labels", idx(kLabels, {2}, {0, 1}));
  expect_error(
      read_idx(write("overflow", idx(kImages, {0xffffffff, 0xffffffff, 0xffffffff}, {1})), labels),
      StatusCode::kCorruptData,
      {"overflow", "byte 4", "4294967295 x 4294967295 x 4294967295", "overflow 64 bits"});
  expect_error(read_idx(write("huge", idx(kImages, {2, 65536, 65536}, pixels(10))), labels),
               StatusCode::kCorruptData,
               {"huge", "byte 16", "need 8589934592 bytes", "found 10", "truncated"});
  expect_error(read_idx(write("short", idx(kImages, {2, 3, 3}, pixels(17))), labels),
               StatusCode::kCorruptData, {"short", "byte 16", "2 x 3 x 3", "need 18", "found 17"});
  expect_error(read_idx(write("long", idx(kImages, {2, 3, 3}, pixels(19))), labels),
               StatusCode::kCorruptData, {"long", "found 19", "trailing bytes"});
  expect_error(read_idx(write("zero", idx(kImages, {2, 0, 3}, {})), labels),
               StatusCode::kCorruptData, {"zero", "byte 8", "nonzero size for dimension 1"});
  expect_error(read_idx(write("images", idx(kImages, {2, 1, 1}, {1, 2})),
                        write("lshort", idx(kLabels, {2}, {0}))),
               StatusCode::kCorruptData, {"lshort", "byte 8", "need 2", "found 1"});
}

TEST_F(DataFiles, IdxCountMismatchAndLabelRange) {
  const fs::path images = write("images", idx(kImages, {3, 1, 1}, {1, 2, 3}));
  expect_error(read_idx(images, write("two", idx(kLabels, {2}, {0, 1}))), StatusCode::kCorruptData,
               {"two", "byte 4", "expected 3 labels", "images", "found 2"});
  const fs::path labels = write("labels", idx(kLabels, {3}, {0, 10, 1}));
  expect_error(read_idx(images, labels), StatusCode::kCorruptData,
               {"labels", "byte 9", "0..9", "found 10"});
  const Result<Dataset> wider = read_idx(images, labels, 11);
  ASSERT_TRUE(wider.is_ok()) << wider.status().message();
  EXPECT_EQ(wider.value().num_classes, 11);
  expect_error(read_idx(images, labels, 0), StatusCode::kInvalidArgument, {"num_classes"});
  expect_error(read_idx(images, labels, 257), StatusCode::kInvalidArgument, {"1..256"});
}

TEST_F(DataFiles, IdxErrorsInGzipFilesSayGunzipped) {
  const fs::path labels = write("labels.gz", gzip(idx(kLabels, {1}, {0})));
  expect_error(read_idx(write("images.gz", gzip(idx(kImages, {1, 2, 2}, {1, 2, 3}))), labels),
               StatusCode::kCorruptData, {"images.gz' (gunzipped): byte 16", "need 4", "found 3"});
}

// --- CIFAR ---------------------------------------------------------------------------------------

Bytes cifar_records(const std::vector<Bytes>& labels, std::uint8_t salt) {
  Bytes b;
  for (std::size_t r = 0; r < labels.size(); ++r) {
    b.insert(b.end(), labels[r].begin(), labels[r].end());
    for (std::size_t i = 0; i < 3072; ++i) {
      b.push_back(static_cast<std::uint8_t>((i * 7 + r * 13 + salt) % 256));
    }
  }
  return b;
}

TEST_F(DataFiles, Cifar10ConcatenatesBatchesExactly) {
  const Bytes first = cifar_records({{3}, {9}}, 1);
  const Bytes second = cifar_records({{0}}, 2);
  const std::vector<fs::path> files = {write("b1.bin", first), write("b2.bin.gz", gzip(second))};
  const Result<Dataset> data = read_cifar10(files);
  ASSERT_TRUE(data.is_ok()) << data.status().message();
  const Dataset& d = data.value();
  EXPECT_EQ(d.features.shape(), (Shape{3, 3, 32, 32}));
  EXPECT_EQ(d.labels, (std::vector<std::int32_t>{3, 9, 0}));
  EXPECT_EQ(d.num_classes, 10);
  const Bytes all = cat(first, second);
  for (std::size_t r = 0; r < 3; ++r) {
    for (std::size_t i = 0; i < 3072; ++i) {
      ASSERT_EQ(d.features[r * 3072 + i], static_cast<float>(all[r * 3073 + 1 + i]) / 255.0f);
    }
  }
  expect_error(read_cifar10({}), StatusCode::kInvalidArgument, {"at least one batch file"});
}

TEST_F(DataFiles, Cifar100FineAndCoarseLabels) {
  const fs::path file = write("train.bin", cifar_records({{19, 99}, {4, 0}}, 5));
  const Result<Dataset> fine = read_cifar100(file);
  ASSERT_TRUE(fine.is_ok()) << fine.status().message();
  EXPECT_EQ(fine.value().labels, (std::vector<std::int32_t>{99, 0}));
  EXPECT_EQ(fine.value().num_classes, 100);
  EXPECT_EQ(fine.value().features[3072], static_cast<float>((0 * 7 + 13 + 5) % 256) / 255.0f);
  const Result<Dataset> coarse = read_cifar100(file, false);
  ASSERT_TRUE(coarse.is_ok());
  EXPECT_EQ(coarse.value().labels, (std::vector<std::int32_t>{19, 4}));
  EXPECT_EQ(coarse.value().num_classes, 20);
}

TEST_F(DataFiles, CifarPartialRecordEmptyFileAndLabelRange) {
  Bytes partial = cifar_records({{1}}, 0);
  partial.resize(3073 + 100, 0);
  const std::vector<fs::path> one = {write("partial.bin", partial)};
  expect_error(read_cifar10(one), StatusCode::kCorruptData,
               {"partial.bin", "byte 3073", "partial record", "expected 3073 bytes", "found 100"});
  const std::vector<fs::path> empty = {write("empty.bin", Bytes{})};
  expect_error(read_cifar10(empty), StatusCode::kCorruptData, {"empty.bin", "byte 0", "empty"});
  const std::vector<fs::path> bad = {write("ok.bin", cifar_records({{1}}, 0)),
                                     write("bad.bin", cifar_records({{2}, {10}}, 0))};
  expect_error(read_cifar10(bad), StatusCode::kCorruptData,
               {"bad.bin", "byte 3073", "record 1", "0..9", "found 10"});
  // Both CIFAR-100 label bytes are checked, whichever is kept.
  const fs::path coarse = write("c100.bin", cifar_records({{1, 2}, {20, 2}}, 0));
  expect_error(read_cifar100(coarse), StatusCode::kCorruptData,
               {"c100.bin", "byte 3074", "coarse label in 0..19", "found 20"});
  expect_error(read_cifar100(write("f100.bin", cifar_records({{1, 100}}, 0)), false),
               StatusCode::kCorruptData, {"f100.bin", "byte 1", "fine label in 0..99"});
  expect_error(read_cifar100(write("p100.bin", Bytes(3073, 0))), StatusCode::kCorruptData,
               {"p100.bin", "byte 0", "partial record", "3074"});
}

// --- CSV -----------------------------------------------------------------------------------------

TEST_F(DataFiles, CsvReadsBackWithAutoHeader) {
  const fs::path file = write("t.csv", "label,a,b\n1,0.5,-2\n0, 1e3 ,+3\r\n\n2,4,5");
  const Result<Dataset> data = read_csv(file);
  ASSERT_TRUE(data.is_ok()) << data.status().message();
  const Dataset& d = data.value();
  EXPECT_EQ(d.features.shape(), (Shape{3, 2}));
  const std::vector<float> expected = {0.5f, -2.0f, 1000.0f, 3.0f, 4.0f, 5.0f};
  EXPECT_EQ(std::vector<float>(d.features.span().begin(), d.features.span().end()), expected);
  EXPECT_EQ(d.labels, (std::vector<std::int32_t>{1, 0, 2}));
  EXPECT_EQ(d.num_classes, 3);
  EXPECT_EQ(d.source, file.string());

  const Result<Dataset> no_header = read_csv_text("3,1,2\n", "n.csv");
  ASSERT_TRUE(no_header.is_ok());
  EXPECT_EQ(no_header.value().labels, (std::vector<std::int32_t>{3}));
  EXPECT_EQ(no_header.value().num_classes, 4);
  // header = true skips a numeric first line; label in the last column; another delimiter.
  CsvOptions options;
  options.header = true;
  options.delimiter = ';';
  options.label_column = -1;
  options.num_classes = 10;
  const Result<Dataset> last = read_csv_text("9;9;9\n1.5;2;7\n", "l.csv", options);
  ASSERT_TRUE(last.is_ok()) << last.status().message();
  EXPECT_EQ(last.value().labels, (std::vector<std::int32_t>{7}));
  EXPECT_EQ(last.value().features[0], 1.5f);
  EXPECT_EQ(last.value().num_classes, 10);
  const Result<Dataset> gz = read_csv(write("t.csv.gz", gzip(Bytes{'1', ',', '2', '\n'})));
  ASSERT_TRUE(gz.is_ok()) << gz.status().message();
  EXPECT_EQ(gz.value().features[0], 2.0f);
}

TEST_F(DataFiles, CsvFieldErrorsNameLineAndColumn) {
  const std::string good = "y,a,b\n0,1,2\n";
  expect_error(read_csv(write("x.csv", good + "1,2,x\n")), StatusCode::kCorruptData,
               {"x.csv", "line 3, column 3", "expected a number", "'x'"});
  expect_error(read_csv(write("nan.csv", good + "1,nan,2\n")), StatusCode::kNumericalError,
               {"nan.csv", "line 3, column 2", "finite", "'nan'"});
  expect_error(read_csv_text("0,1,-inf\n", "inf.csv"), StatusCode::kNumericalError,
               {"inf.csv", "line 1, column 3", "'-inf'"});
  expect_error(read_csv_text("0,1e39\n", "big.csv"), StatusCode::kNumericalError,
               {"big.csv", "line 1, column 2"});
  expect_error(read_csv_text("0,1e999\n", "huge.csv"), StatusCode::kNumericalError,
               {"huge.csv", "line 1, column 2"});
  expect_error(read_csv(write("count.csv", good + "\n1,2\n")), StatusCode::kCorruptData,
               {"count.csv", "line 4", "expected 3 fields (as on line 2), found 2"});
  expect_error(read_csv_text("0,1\n-1,2\n", "neg.csv"), StatusCode::kCorruptData,
               {"neg.csv", "line 2, column 1", "non-negative integer label", "'-1'"});
  expect_error(read_csv_text("1.5,1\n", "frac.csv"), StatusCode::kCorruptData,
               {"frac.csv", "line 1, column 1", "'1.5'"});
  CsvOptions two;
  two.num_classes = 2;
  expect_error(read_csv_text("1,1\n2,1\n", "range.csv", two), StatusCode::kCorruptData,
               {"range.csv", "line 2, column 1", "label in 0..1", "'2'"});
  expect_error(read_csv_text("70000,1\n", "typo.csv"), StatusCode::kCorruptData,
               {"typo.csv", "line 1", "0..65535"});
  CsvOptions no_header;
  no_header.header = false;
  expect_error(read_csv_text("label,a\n1,2\n", "h.csv", no_header), StatusCode::kCorruptData,
               {"h.csv", "line 1, column 1", "'label'"});
}

TEST_F(DataFiles, CsvShapeAndOptionErrors) {
  expect_error(read_csv_text("", "empty.csv"), StatusCode::kCorruptData, {"empty.csv", "no"});
  expect_error(read_csv_text("label,a\n", "head.csv"), StatusCode::kCorruptData,
               {"head.csv", "at least one data row"});
  expect_error(read_csv_text("1\n2\n", "one.csv"), StatusCode::kCorruptData,
               {"one.csv", "line 1", "at least one feature"});
  CsvOptions far;
  far.label_column = 5;
  expect_error(read_csv_text("1,2\n", "far.csv", far), StatusCode::kInvalidArgument,
               {"far.csv", "line 1", "label column 5"});
  CsvOptions bad;
  bad.delimiter = '.';
  expect_error(read_csv_text("1.2\n", "d.csv", bad), StatusCode::kInvalidArgument, {"delimiter"});
  bad = CsvOptions{};
  bad.num_classes = -1;
  expect_error(read_csv(dir_ / "never-read.csv", bad), StatusCode::kInvalidArgument,
               {"num_classes"});
  expect_error(read_csv(dir_ / "missing.csv"), StatusCode::kIoError, {"missing.csv"});
}

// --- load_dataset --------------------------------------------------------------------------------

TEST_F(DataFiles, LoadDatasetFromDirectories) {
  auto idx_pair = [&](const std::string& stem, std::uint32_t n, bool gz) {
    Bytes labels(n);
    for (std::uint32_t i = 0; i < n; ++i) labels[i] = static_cast<std::uint8_t>(i % 10);
    const std::string ext = gz ? ".gz" : "";
    const Bytes images = idx(kImages, {n, 2, 2}, pixels(4 * n));
    write(stem + "-images-idx3-ubyte" + ext, gz ? gzip(images) : images);
    write(stem + "-labels-idx1-ubyte" + ext,
          gz ? gzip(idx(kLabels, {n}, labels)) : idx(kLabels, {n}, labels));
  };
  idx_pair("train", 12, true);
  idx_pair("t10k", 5, false);
  for (const std::string& spec :
       {dir_.string(), "mnist:" + dir_.string(), "fashion-mnist:" + dir_.string()}) {
    const Result<TrainTest> data = load_dataset(spec);
    ASSERT_TRUE(data.is_ok()) << spec << ": " << data.status().message();
    EXPECT_EQ(data.value().train.features.shape(), (Shape{12, 1, 2, 2}));
    EXPECT_EQ(data.value().test.labels, (std::vector<std::int32_t>{0, 1, 2, 3, 4}));
  }
  fs::remove(dir_ / "t10k-labels-idx1-ubyte");
  expect_error(load_dataset("mnist:" + dir_.string()), StatusCode::kIoError,
               {dir_.string(), "no t10k-labels-idx1-ubyte"});

  const fs::path cifar10 = dir_ / "c10";
  fs::create_directories(cifar10);
  for (int i = 1; i <= 5; ++i)
    write("c10/data_batch_" + std::to_string(i) + ".bin", cifar_records({{1}, {2}}, 0));
  write("c10/test_batch.bin", cifar_records({{7}}, 0));
  const Result<TrainTest> c10 = load_dataset("cifar10:" + cifar10.string());
  ASSERT_TRUE(c10.is_ok()) << c10.status().message();
  EXPECT_EQ(c10.value().train.size(), 10);
  EXPECT_EQ(c10.value().test.labels, (std::vector<std::int32_t>{7}));
  fs::remove(cifar10 / "data_batch_4.bin");
  expect_error(load_dataset("cifar10:" + cifar10.string()), StatusCode::kIoError,
               {"data_batch_4.bin"});

  const fs::path cifar100 = dir_ / "c100";
  fs::create_directories(cifar100);
  write("c100/train.bin", cifar_records({{1, 50}, {2, 60}}, 0));
  write("c100/test.bin", cifar_records({{3, 70}}, 0));
  for (const std::string& spec : {"cifar100:" + cifar100.string(), cifar100.string()}) {
    const Result<TrainTest> c100 = load_dataset(spec);
    ASSERT_TRUE(c100.is_ok()) << c100.status().message();
    EXPECT_EQ(c100.value().train.labels, (std::vector<std::int32_t>{50, 60}));
    EXPECT_EQ(c100.value().test.num_classes, 100);
  }
}

TEST_F(DataFiles, LoadDatasetCsvPairAndUnknownNames) {
  const fs::path train = write("train.csv", "y,a,b\n0,1,2\n1,3,4\n");
  const fs::path test = write("test.csv", "y,a,b\n4,5,6\n");
  const Result<TrainTest> data = load_dataset(train.string() + "," + test.string());
  ASSERT_TRUE(data.is_ok()) << data.status().message();
  EXPECT_EQ(data.value().train.num_classes, 5);  // the test file's largest label decides
  EXPECT_EQ(data.value().test.num_classes, 5);
  const fs::path narrow = write("narrow.csv", "0,1\n");
  expect_error(load_dataset(train.string() + "," + narrow.string()), StatusCode::kCorruptData,
               {"narrow.csv", "expected 2 features", "found 1"});

  expect_error(
      load_dataset("imagenet"), StatusCode::kInvalidArgument,
      {"unknown data set 'imagenet'", "fashion-mnist", "cifar10:DIR", "TRAIN.csv,TEST.csv"});
  expect_error(load_dataset("cifar10"), StatusCode::kInvalidArgument,
               {"cifar10:/path/to/cifar-10-batches-bin"});
  expect_error(load_dataset("cifar100:"), StatusCode::kInvalidArgument, {"expected a directory"});
  expect_error(load_dataset(dir_.string()), StatusCode::kIoError, {dir_.string(), "no data set"});
  const Result<TrainTest> mnist = load_dataset("mnist");
  if (!mnist.is_ok() && mnist.status().code() == StatusCode::kInvalidArgument) {
    EXPECT_NE(mnist.status().message().find("Debian ships no MNIST"), std::string::npos);
    EXPECT_NE(mnist.status().message().find("mnist:DIR"), std::string::npos);
  }
}

TEST(FashionMnist, DebianPackageReadsWhole) {
  if (!fs::is_directory("/usr/share/datasets/fashion-mnist")) {
    GTEST_SKIP() << "Debian's dataset-fashion-mnist is not installed";
  }
  const Result<TrainTest> data = load_dataset("fashion-mnist");
  ASSERT_TRUE(data.is_ok()) << data.status().message();
  for (const auto& [set, n] :
       {std::pair{&data.value().train, 60000}, {&data.value().test, 10000}}) {
    EXPECT_EQ(set->features.shape(), (Shape{n, 1, 28, 28}));
    EXPECT_EQ(set->num_classes, 10);
    std::vector<int> per_class(10, 0);
    for (const std::int32_t l : set->labels) {
      ASSERT_TRUE(l >= 0 && l < 10) << l;
      ++per_class[static_cast<std::size_t>(l)];
    }
    // Fashion-MNIST is balanced: 6000 (train) or 1000 (test) of each class.
    EXPECT_EQ(per_class, std::vector<int>(10, n / 10));
    const auto [lo, hi] =
        std::minmax_element(set->features.span().begin(), set->features.span().end());
    EXPECT_EQ(*lo, 0.0f);
    EXPECT_EQ(*hi, 1.0f);
  }
}

}  // namespace
}  // namespace relulab::data
