// Loads a model given on the command line and runs it on zeros: proves the installed headers,
// library and CMake package work together.
#include <tinyq/session.h>

#include <cstdio>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  auto session = tinyq::Session::open(argv[1]);
  if (!session.is_ok()) {
    std::fprintf(stderr, "%s\n", session.status().to_string().c_str());
    return 1;
  }
  std::vector<tinyq::Tensor> inputs;
  for (const auto& spec : (*session)->inputs()) {
    tinyq::Shape shape;
    for (int64_t d : spec.dims) shape.push_back(d < 0 ? 2 : d);
    inputs.emplace_back(spec.dtype, shape);
  }
  auto out = (*session)->run(inputs);
  if (!out.is_ok()) {
    std::fprintf(stderr, "%s\n", out.status().to_string().c_str());
    return 1;
  }
  std::printf("%s %s\n", (*session)->outputs()[0].name.c_str(), tinyq::shape_str((*out)[0].shape()).c_str());
  return 0;
}
