// readRegularFile: regular files read whole; FIFOs, devices, directories and files over the
// cap refused at once with the reason.
#include "proxy/core/file_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace readygate {
namespace {

using ::testing::HasSubstr;

class FileReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/readygate-file-reader-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  std::string write(const std::string& name, const std::string& content) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << content;
    return path;
  }
  std::string dir_;
};

TEST_F(FileReaderTest, ARegularFileIsReadWholeAlsoThroughASymlink) {
  std::string path = write("a.yaml", "- 127.0.0.1:5001\n");
  auto read = readRegularFile(path);
  ASSERT_TRUE(fileContent(read));
  EXPECT_EQ(*fileContent(read), "- 127.0.0.1:5001\n");
  std::string link = dir_ + "/link";
  ASSERT_EQ(symlink(path.c_str(), link.c_str()), 0);
  ASSERT_TRUE(fileContent(readRegularFile(link)));
  EXPECT_TRUE(fileContent(readRegularFile(write("empty", ""))));
}

TEST_F(FileReaderTest, WhatIsNoRegularFileIsRefusedWithoutBlocking) {
  std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THAT(fileError(readRegularFile(fifo)), HasSubstr("a FIFO"));
  EXPECT_THAT(fileError(readRegularFile("/dev/zero")), HasSubstr("a character device"));
  EXPECT_THAT(fileError(readRegularFile(dir_)), HasSubstr("a directory"));
  EXPECT_THAT(fileError(readRegularFile(dir_ + "/missing")), HasSubstr("No such file"));
  std::string loop = dir_ + "/loop";
  ASSERT_EQ(symlink(loop.c_str(), loop.c_str()), 0);
  EXPECT_THAT(fileError(readRegularFile(loop)), HasSubstr("cannot open"));
}

TEST_F(FileReaderTest, AFileOverTheCapIsRefused) {
  std::string path = write("big", std::string(2000, 'x'));
  EXPECT_TRUE(fileContent(readRegularFile(path, 2000)));
  EXPECT_THAT(fileError(readRegularFile(path, 1999)), HasSubstr("more than the limit of 1999"));
}

}  // namespace
}  // namespace readygate
