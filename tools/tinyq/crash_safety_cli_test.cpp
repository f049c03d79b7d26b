// Crash-safe registry writes (issue 8): `tinyq quantize --registry` and `tinyq tune` are killed
// with SIGKILL, at seeded random moments and, under ptrace, exactly before and after each rename
// they make, on a scratch registry. After every kill the registry must parse and validate, and
// the artefact, the sidecar that follows the registry and the registry must be all old or all new
// (the "pair" below); where a kill left a change half done, the next writer's recovery
// (recover_registry_writes, which every writer runs first) must finish or drop it, and no temp
// file may remain.
//
// To add a command: give it a scratch state with a known old pair and a deterministic new
// artefact, then call kill_randomly() and kill_at_renames() with its arguments.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <sys/user.h>
#elif defined(__aarch64__)
#include <asm/ptrace.h>
#include <linux/elf.h>
#include <sys/uio.h>
#endif

#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "cli_test_util.h"
#include "registry/write_journal.h"
#include "tune/tune_test_util.h"
#include "tinyq/registry.h"

namespace tinyq::cli::testing {
namespace {

using namespace tinyq::tune_testing;  // NOLINT(google-build-using-namespace)

namespace fs = std::filesystem;

constexpr uint32_t kSeed = 20261127;
constexpr int kRandomQuantizeKills = 30;
constexpr int kRandomTuneKills = 3;
constexpr int64_t kCalibrationRows = 4;  // enough to calibrate nr_metric, few enough to be quick
constexpr int64_t kFixtureRows = 6;
// tune's last renames: the journal, the int8 artefact, the sidecar and the registry (the
// candidates' files in its temp folder come before them).
constexpr int kTuneCommitRenames = 4;

// A child running `tinyq ARGS` with TMPDIR set and its output discarded; traced children stop
// themselves before exec so the parent can set ptrace options.
pid_t spawn(const std::vector<std::string>& args, const fs::path& tmpdir, bool traced) {
  std::vector<std::string> argv = {TINYQ_CLI};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  ::setenv("TMPDIR", tmpdir.c_str(), 1);
  FILE* null = std::fopen("/dev/null", "w");
  if (null) {
    ::dup2(fileno(null), STDOUT_FILENO);
    ::dup2(fileno(null), STDERR_FILENO);
  }
  if (traced) {
    ::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    ::raise(SIGSTOP);
  }
  ::execv(cargv[0], cargv.data());
  ::_exit(127);
}

// The syscall a tracee in a syscall stop is making, where we know how to read it.
#if defined(__x86_64__)
constexpr bool kCanTrace = true;
long syscall_number(pid_t pid) {
  user_regs_struct regs{};
  ::ptrace(PTRACE_GETREGS, pid, nullptr, &regs);
  return static_cast<long>(regs.orig_rax);
}
bool is_rename(long n) { return n == SYS_rename || n == SYS_renameat || n == SYS_renameat2; }
#elif defined(__aarch64__)
constexpr bool kCanTrace = true;
long syscall_number(pid_t pid) {
  user_pt_regs regs{};
  iovec io{&regs, sizeof regs};
  ::ptrace(PTRACE_GETREGSET, pid, NT_PRSTATUS, &io);
  return static_cast<long>(regs.regs[8]);
}
bool is_rename(long n) { return n == SYS_renameat || n == SYS_renameat2; }
#else
constexpr bool kCanTrace = false;
long syscall_number(pid_t) { return -1; }
bool is_rename(long) { return false; }
#endif

struct TracedRun {
  bool started = false;  // ptrace worked
  int renames = 0;       // renames begun
  bool killed = false;
};

// Runs tinyq under ptrace and, when kill_at > 0, SIGKILLs it at the entry of its kill_at-th rename
// (before the rename happens) or, with `after`, at that rename's exit (just after it happened).
TracedRun traced_run(const std::vector<std::string>& args, const fs::path& tmpdir, int kill_at, bool after) {
  TracedRun out;
  pid_t pid = spawn(args, tmpdir, true);
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status)) return out;
  if (::ptrace(PTRACE_SETOPTIONS, pid, nullptr, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL) != 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    return out;
  }
  out.started = true;
  bool in_syscall = false, in_rename = false;
  int deliver = 0;
  while (::ptrace(PTRACE_SYSCALL, pid, nullptr, deliver) == 0) {
    deliver = 0;
    if (::waitpid(pid, &status, 0) != pid || WIFEXITED(status) || WIFSIGNALED(status)) return out;
    const int sig = WSTOPSIG(status);
    if (sig != (SIGTRAP | 0x80)) {
      if (sig != SIGTRAP) deliver = sig;  // the SIGTRAP after execve is ptrace's own
      continue;
    }
    in_syscall = !in_syscall;
    if (in_syscall) {
      in_rename = is_rename(syscall_number(pid));
      if (in_rename) ++out.renames;
    }
    if (in_rename && out.renames == kill_at && in_syscall != after) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      out.killed = true;
      return out;
    }
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return out;
}

enum class Pair { kOld, kNew, kTorn };

std::string name(Pair p) { return p == Pair::kOld ? "old" : p == Pair::kNew ? "new" : "torn"; }

double seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

struct Tally {
  std::map<std::string, int> counts;
  void add(const std::string& what) { ++counts[what]; }
  std::string str() const {
    std::string s;
    for (const auto& [k, v] : counts) s += (s.empty() ? "" : ", ") + k + " " + std::to_string(v);
    return s;
  }
};

class CrashSafety : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = test_folder("crash");
    dir_ = root_ / "reg";
    tmp_ = root_ / "tmp";
    fs::create_directories(tmp_);
    write_scratch_registry(dir_, "static", "\"quant_calibration_set\": \"cal.npz\",\n      \"fixtures\": \"fx.npz\"",
                           kCalibrationRows, kFixtureRows);
    // A sidecar whose int8_sha256 and quant_mode every write brings in line with the registry.
    write_bytes(sidecar_path(), "{\n  \"id\": \"nr\",\n  \"onnx\": \"nr.onnx\",\n  \"quant_mode\": \"static\",\n  \"int8_sha256\": \"\",\n"
                                "  \"notes\": \"scratch \\u2014 sidecar\"\n}\n");
    // The old pair: static with per-tensor weights. The commands under test make other bytes.
    Outcome made = run_cli("quantize --registry " + registry_path().string() + " --model nr --per-tensor");
    ASSERT_EQ(made.code, 0) << made.output;
    old_registry_ = read_bytes(registry_path());
    old_artefact_ = read_bytes(artefact_path());
    old_sidecar_ = read_bytes(sidecar_path());
    files_ = listing();
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path registry_path() const { return dir_ / "registry.json"; }
  fs::path artefact_path() const { return dir_ / "nr.int8.onnx"; }
  fs::path sidecar_path() const { return dir_ / "nr.json"; }

  std::set<std::string> listing() const {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.insert(e.path().filename().string());
    return out;
  }

  void restore_old() {
    write_bytes(registry_path(), old_registry_);
    write_bytes(artefact_path(), old_artefact_);
    write_bytes(sidecar_path(), old_sidecar_);
  }

  // The new pair, made by one run that is not killed.
  void record_new(const std::vector<std::string>& args) {
    restore_old();
    pid_t pid = spawn(args, tmp_, false);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the command failed unkilled";
    new_artefact_ = read_bytes(artefact_path());
    new_sidecar_ = read_bytes(sidecar_path());
    ASSERT_NE(new_artefact_, old_artefact_) << "the command must change the artefact for the test to mean anything";
    ASSERT_NE(new_sidecar_, old_sidecar_) << "the command must change the sidecar for the test to mean anything";
  }

  Pair pair() const {
    const std::string reg = read_bytes(registry_path());
    const std::string art = read_bytes(artefact_path());
    const std::string side = read_bytes(sidecar_path());
    if (reg == old_registry_ && art == old_artefact_ && side == old_sidecar_) return Pair::kOld;
    auto r = Registry::parse(reg, registry_path().string());
    if (!r.is_ok() || !r->find("nr")) return Pair::kTorn;
    return art == new_artefact_ && side == new_sidecar_ && r->find("nr")->int8_sha256 == sha_of(art) ? Pair::kNew : Pair::kTorn;
  }

  // A change is half done: its journal names the files recovery must finish or drop.
  bool pending() const { return fs::exists(registry::journal_path(registry_path().string())); }

  // The checks after one kill; `what` names the kill in failure messages and the tally.
  void check_after_kill(const std::string& what, Tally& tally) {
    auto reg = Registry::read(registry_path().string());
    ASSERT_TRUE(reg.is_ok()) << what << ": " << reg.status().message();
    ASSERT_TRUE(reg->valid()) << what << ": " << reg->problems()[0].pointer << " " << reg->problems()[0].message;
    const Pair before = pair();
    const bool pending_before = pending();
    ASSERT_TRUE(before != Pair::kTorn || pending_before) << what << ": torn registry/artefact pair with nothing to recover it";
    ASSERT_TRUE(recover_registry_writes(registry_path().string()).is_ok()) << what;
    const Pair after = pair();
    ASSERT_NE(after, Pair::kTorn) << what << ": still torn after recovery";
    EXPECT_EQ(listing(), files_) << what << ": files left behind after recovery";
    // "old", "new", or how recovery moved it: "torn -> new" (finished), "old -> new" (a journalled
    // change whose files were all complete is finished too).
    const std::string outcome = before == after ? name(before) : name(before) + " -> " + name(after);
    tally.add(outcome);
    if (verbose_) std::printf("  %s: %s%s\n", what.c_str(), outcome.c_str(), pending_before ? " (a change was pending)" : "");
  }

  void kill_randomly(const std::vector<std::string>& args, int kills, std::mt19937& rng, Tally& tally) {
    // How long an unkilled run takes bounds the random delays.
    restore_old();
    const auto t0 = std::chrono::steady_clock::now();
    pid_t pid = spawn(args, tmp_, false);
    int status = 0;
    ::waitpid(pid, &status, 0);
    const auto full = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
    std::uniform_int_distribution<int64_t> delay(0, full.count());
    for (int i = 0; i < kills; ++i) {
      restore_old();
      pid = spawn(args, tmp_, false);
      std::this_thread::sleep_for(std::chrono::microseconds(delay(rng)));
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      check_after_kill(args[0] + " random kill " + std::to_string(i), tally);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }

  // Kills at the entry and at the exit of each of the last `last` renames of an unkilled run.
  void kill_at_renames(const std::vector<std::string>& args, int last, Tally& tally) {
    restore_old();
    TracedRun probe = traced_run(args, tmp_, 0, false);
    if (!probe.started) GTEST_SKIP() << "ptrace is not permitted here; the targeted kills need it";
    ASSERT_GT(probe.renames, 0);
    verbose_ = true;
    for (int k = std::max(1, probe.renames - last + 1); k <= probe.renames; ++k)
      for (bool after : {false, true}) {
        restore_old();
        TracedRun r = traced_run(args, tmp_, k, after);
        ASSERT_TRUE(r.killed) << "rename " << k << " was not reached";
        check_after_kill(args[0] + (after ? " after rename " : " before rename ") + std::to_string(k), tally);
        if (::testing::Test::HasFatalFailure()) return;
      }
  }

  fs::path root_, dir_, tmp_;
  std::string old_registry_, old_artefact_, new_artefact_, old_sidecar_, new_sidecar_;
  std::set<std::string> files_;
  bool verbose_ = false;  // one line per kill (the targeted ones)
};

TEST_F(CrashSafety, QuantizeKilledAnywhereLeavesOldOrNewPair) {
  const std::vector<std::string> args = {"quantize", "--registry", registry_path().string(), "--model", "nr"};
  record_new(args);
  std::mt19937 rng(kSeed);
  Tally random, targeted;
  const auto t0 = std::chrono::steady_clock::now();
  kill_randomly(args, kRandomQuantizeKills, rng, random);
  if (HasFatalFailure()) return;
  const auto t1 = std::chrono::steady_clock::now();
  if (kCanTrace) kill_at_renames(args, /*last=*/1000, targeted);
  std::printf("quantize: %d random kills (%.1f s): %s; kills at renames (%.1f s): %s\n", kRandomQuantizeKills, seconds(t1 - t0),
              random.str().c_str(), seconds(std::chrono::steady_clock::now() - t1), targeted.str().c_str());
}

TEST_F(CrashSafety, TuneKilledAnywhereLeavesOldOrNewPair) {
  // A narrow search (two candidates) that always writes: dynamic per-channel wins.
  const std::vector<std::string> args = {"tune",          "--registry",    registry_path().string(), "--model",
                                         "nr",            "--budget",      "0.5",                    "--allow-slower",
                                         "--methods",     "minmax",        "--activations",          "u8",
                                         "--granularity", "per-channel",   "--max-fp32-layers",      "0"};
  record_new(args);
  std::mt19937 rng(kSeed);
  Tally random, targeted;
  const auto t0 = std::chrono::steady_clock::now();
  kill_randomly(args, kRandomTuneKills, rng, random);
  if (HasFatalFailure()) return;
  const auto t1 = std::chrono::steady_clock::now();
  if (kCanTrace) kill_at_renames(args, kTuneCommitRenames, targeted);
  const auto t2 = std::chrono::steady_clock::now();
  if (HasFatalFailure() || IsSkipped()) return;
  // The temp folders of killed tunes are removed by the next tune that starts.
  restore_old();
  pid_t pid = spawn(args, tmp_, false);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_TRUE(fs::is_empty(tmp_)) << "stale tune temp folders were not cleaned up";
  std::printf("tune: %d random kills (%.1f s): %s; kills at renames (%.1f s): %s\n", kRandomTuneKills, seconds(t1 - t0),
              random.str().c_str(), seconds(t2 - t1), targeted.str().c_str());
}

}  // namespace
}  // namespace tinyq::cli::testing
