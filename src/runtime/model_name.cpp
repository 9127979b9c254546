#include "runtime/model_name.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace tessera::runtime {
namespace {

bool allowed(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x80) return false;
  return std::isalnum(u) != 0 || c == '.' || c == '_' || c == '-' || c == '+' || c == ':';
}

std::string describe_char(char c) {
  switch (c) {
    case '/':
      return "'/' (a path separator)";
    case '\\':
      return "'\\' (a path separator)";
    case '\0':
      return "a NUL byte";
    case ' ':
      return "a space";
    default:
      break;
  }
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return std::string("'") + c + "'";
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", u);
  return std::string("byte ") + buf;
}

Error bad_name(std::string_view name, const std::string& why) {
  return make_error(ErrorCode::invalid_argument, "model name " + quote_name(name) + " " + why +
                                                     "; a name uses " + model_name_alphabet() +
                                                     ", does not start with '.', and is at most " +
                                                     std::to_string(kMaxModelNameBytes) + " bytes");
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

const char* model_name_alphabet() {
  return "ASCII letters, digits and . _ - + :";
}

std::string quote_name(std::string_view name) {
  std::string out = "'";
  size_t n = 0;
  for (char c : name) {
    if (++n > 200) {
      out += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '\\' && c != '\'') {
      out += c;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    }
  }
  out += "'";
  return out;
}

Status validate_model_name(std::string_view name) {
  if (name.empty()) return bad_name(name, "is empty");
  if (name.size() > kMaxModelNameBytes) {
    std::string why = "is ";
    why.append(std::to_string(name.size())).append(" bytes long");
    return bad_name(name, why);
  }
  if (name == "." || name == "..") return bad_name(name, "names a directory, not a model");
  for (size_t i = 0; i < name.size(); ++i) {
    if (!allowed(name[i])) {
      std::string why = "has ";
      why.append(describe_char(name[i])).append(" at byte ").append(std::to_string(i));
      return bad_name(name, why);
    }
  }
  if (name[0] == '.') return bad_name(name, "starts with '.'");
  return {};
}

std::vector<std::string> close_names(std::string_view name,
                                     const std::vector<std::string>& candidates, size_t max) {
  const std::string want = lower(name);
  const size_t budget = std::max<size_t>(2, want.size() / 3);
  std::vector<std::pair<size_t, std::string>> scored;
  for (const std::string& c : candidates) {
    const std::string have = lower(c);
    size_t d = edit_distance(want, have);
    const bool contains = !want.empty() && (have.find(want) != std::string::npos ||
                                            want.find(have) != std::string::npos);
    if (contains) d = std::min<size_t>(d, 1);
    if (d <= budget) scored.emplace_back(d, c);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (size_t i = 0; i < scored.size() && i < max; ++i) out.push_back(scored[i].second);
  return out;
}

}  // namespace tessera::runtime
