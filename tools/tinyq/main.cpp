// tinyq: the command-line front end. Each subcommand lives in its own cmd_*.cpp.
#include <cstdio>

#include "cli.h"

int main(int argc, char** argv) {
  CLI::App app{"tinyq: exact, fast int8 for tiny ONNX models on CPUs"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tinyq 0.1.0");
  int exit_code = tinyq::cli::kExitOk;
  tinyq::cli::register_run(app, &exit_code);
  tinyq::cli::register_bench(app, &exit_code);
  tinyq::cli::register_registry(app, &exit_code);
  tinyq::cli::register_quantize(app, &exit_code);
  tinyq::cli::register_gate(app, &exit_code);
  tinyq::cli::register_audit(app, &exit_code);
  tinyq::cli::register_qat(app, &exit_code);
  tinyq::cli::register_tune(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return tinyq::cli::kExitBadInput;
  }
  return exit_code;
}
