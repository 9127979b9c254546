#include "runtime/json_file.h"

#include <fstream>
#include <string>
#include <system_error>

namespace tessera::runtime {

Status write_json_file(const std::filesystem::path& path, const nlohmann::json& doc, int indent) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  std::error_code ec;
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << doc.dump(indent) << "\n";
    out.flush();
    if (!out) {
      std::filesystem::remove(tmp, ec);
      return make_error(ErrorCode::io_error, "cannot write " + tmp.string());
    }
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    const std::string why = ec.message();
    std::filesystem::remove(tmp, ec);
    return make_error(ErrorCode::io_error,
                      "cannot rename " + tmp.string() + " to " + path.string() + ": " + why);
  }
  return {};
}

}  // namespace tessera::runtime
