#include "gpu/backend_choice.h"

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "gpu/doctor.h"

namespace tessera::gpu {

const BackendChoice& choose_backend() {
  static const BackendChoice choice = [] {
    const DoctorReport r = run_doctor(doctor_input_from_environment());
    BackendChoice c;
    c.cuda_available = r.backend == "cuda";
    // The CUDA backend itself arrives with issue #8; until then a usable GPU still runs on the
    // CPU, and the log says so.
    c.backend = "cpu";
    c.reason =
        c.cuda_available ? "a GPU is usable but this runtime has no CUDA backend yet" : r.reason;
    std::fprintf(stderr, "tessera: running on the CPU: %s (tessera doctor explains)\n",
                 c.reason.c_str());
    return c;
  }();
  return choice;
}

}  // namespace tessera::gpu
