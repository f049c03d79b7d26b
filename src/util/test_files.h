// File helpers for tests: read and write a whole file, and a fresh folder per test. Test code
// only: they neither report errors nor write via temp + rename (the library's util/file.h does).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

namespace tinyq::test_files {

// The file's bytes; "" when it cannot be read.
inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// Replaces the file's contents with `bytes` (creating it; the folder must exist).
inline void spit(const std::filesystem::path& p, std::string_view bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// An empty folder for the running test, <system temp>/<tag>_<pid>_<test name>: whatever an
// earlier run left there is removed first. The caller removes it (TearDown). A parameterised
// test's '/' ("Name/3") becomes '_', so the folder is not nested in one nothing removes.
inline std::filesystem::path fresh_test_dir(const std::string& tag) {
  std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::replace(name.begin(), name.end(), '/', '_');
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / (tag + "_" + std::to_string(::getpid()) + "_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace tinyq::test_files
