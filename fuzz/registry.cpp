#include <fstream>
#include <string_view>

#include "fuzz_entries.h"
#include "tinyq/registry.h"

namespace tinyq::fuzz {

int registry(const uint8_t* data, size_t size) {
  const std::string path = scratch_dir() + "/registry.json";
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = Registry::parse(text, path);
  if (!parsed.is_ok()) return 0;  // not JSON: validate would stop at the same point
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  ValidateOptions vo;
  vo.max_model_bytes = uint64_t{1} << 20;
  auto report = validate_registry(path, vo);
  (void)report;
  // The scratch folder holds only registry.json, which entries may name as their model.
  LoaderOptions lo;
  lo.max_model_bytes = uint64_t{1} << 20;
  lo.allow_fp32_fallback = true;
  lo.log = [](const std::string&) {};
  for (const RegistryEntry& e : parsed->models()) {
    auto loaded = open_registered(*parsed, e.id, lo);
    (void)loaded;
  }
  return 0;
}

}  // namespace tinyq::fuzz
