#include "kernels/xnn.h"

namespace tinyq::kernels {

bool xnn_ready() {
  static const bool ready = xnn_initialize(/*allocator=*/nullptr) == xnn_status_success;
  return ready;
}

}  // namespace tinyq::kernels
