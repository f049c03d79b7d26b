// The C API's promises that a C program cannot easily test: one session run from many threads
// gives the single-threaded results, and error messages are per thread.
#include "tinyq.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int kThreads = 8;
constexpr int kRunsPerThread = 50;
constexpr int64_t kRows = 16;

std::string registry_path() { return std::string(TINYQ_SOURCE_DIR) + "/models/registry.json"; }

std::vector<float> run_once(tinyq_session* s, const std::vector<float>& features, tinyq_status* status) {
  int64_t shape[2] = {kRows, 6};
  std::vector<float> scores(kRows, -1.0f);
  tinyq_tensor in = tinyq_tensor_make(TINYQ_FLOAT32, 2, shape, features.data(), features.size() * sizeof(float));
  tinyq_tensor out = tinyq_tensor_make(TINYQ_FLOAT32, 0, nullptr, scores.data(), scores.size() * sizeof(float));
  *status = tinyq_session_run(s, &in, 1, &out, 1);
  return scores;
}

TEST(CApi, OneSessionFromManyThreadsEqualsSingleThreaded) {
  tinyq_session* s = nullptr;
  ASSERT_EQ(tinyq_session_open(registry_path().c_str(), "vmaf_tiny_v4", nullptr, &s), TINYQ_OK) << tinyq_last_error();
  std::vector<std::vector<float>> inputs(kThreads, std::vector<float>(kRows * 6));
  for (int t = 0; t < kThreads; ++t)
    for (size_t i = 0; i < inputs[t].size(); ++i) inputs[t][i] = static_cast<float>((i * 7 + t * 13) % 17) / 16.0f;
  std::vector<std::vector<float>> expected(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    tinyq_status st;
    expected[t] = run_once(s, inputs[t], &st);
    ASSERT_EQ(st, TINYQ_OK) << tinyq_last_error();
  }
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> pool;
  for (int t = 0; t < kThreads; ++t)
    pool.emplace_back([&, t] {
      for (int r = 0; r < kRunsPerThread; ++r) {
        tinyq_status st;
        std::vector<float> got = run_once(s, inputs[t], &st);
        mismatches[t] += st != TINYQ_OK || got != expected[t];  // bit-identical
      }
    });
  for (auto& th : pool) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
  tinyq_session_close(s);
}

TEST(CApi, LastErrorIsPerThread) {
  tinyq_session* s = nullptr;
  ASSERT_EQ(tinyq_session_open(registry_path().c_str(), "main_thread_id", nullptr, &s), TINYQ_NOT_FOUND);
  std::string other;
  std::thread([&other] {
    tinyq_session* t = nullptr;
    EXPECT_EQ(tinyq_session_open("/nonexistent/registry.json", "x", nullptr, &t), TINYQ_NOT_FOUND);
    other = tinyq_last_error();
  }).join();
  EXPECT_NE(std::string(tinyq_last_error()).find("main_thread_id"), std::string::npos) << tinyq_last_error();
  EXPECT_NE(other.find("/nonexistent/registry.json"), std::string::npos) << other;
  EXPECT_STREQ(tinyq_status_name(TINYQ_INTEGRITY), "integrity");
}

}  // namespace
