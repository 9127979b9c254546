// `tessera scheduler check`: the places a config gives on a host (a fake NVML scenario), and a
// bad config's error with file and line.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace {

struct Output {
  std::string text;
  int code = 0;
};

Output check(const std::string& scenario, const std::string& yaml, const std::string& flags) {
  const std::string file = ::testing::TempDir() + "sched_check.yaml";
  std::ofstream(file) << yaml;
  const std::string cmd = std::string("env LD_LIBRARY_PATH=") + TESSERA_FAKE_NVIDIA_DIR +
                          " TESSERA_FAKE_NVML=" + TESSERA_GPU_SCENARIOS + "/" + scenario + " " +
                          TESSERA_BIN + " scheduler check --config " + file + " " + flags + " 2>&1";
  Output out;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.text.append(buf, n);
  const int status = pclose(p);
  out.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

TEST(SchedulerCheck, ShowsThePlacesOfAMigHostWithASlice) {
  const Output out = check("h100_mig_3x2g.json",
                           "gpu_reserve: 1GiB\nslices:\n  - name: team-a\n"
                           "    device: MIG-000000a1-1111-2222-3333-000000000001\n"
                           "    memory: 4GiB\n    apps: [bot]\n",
                           "--json");
  ASSERT_EQ(out.code, 0) << out.text;
  const auto j = nlohmann::json::parse(out.text);
  const auto& places = j["places"];
  ASSERT_EQ(places.size(), 4u) << out.text;
  EXPECT_EQ(places[0]["id"], "gpu0/mig3");
  EXPECT_EQ(places[0]["kind"], "mig");
  EXPECT_EQ(places[0]["cuda_device"], 0);
  // 20937965568 total - 13631488 used - 1 GiB reserve.
  EXPECT_EQ(places[0]["capacity_bytes"], 20937965568ull - 13631488ull - (1ull << 30));
  EXPECT_EQ(places[1]["capacity_bytes"], 20937965568ull - 27262976ull - (5ull << 30));
  EXPECT_EQ(places[3]["id"], "slice:team-a");
  EXPECT_EQ(places[3]["capacity_bytes"], 4ull << 30);
  EXPECT_EQ(places[3]["apps"], nlohmann::json::array({"bot"}));
}

TEST(SchedulerCheck, BadConfigsNameTheLine) {
  Output out = check("h100_mig_3x2g.json", "keep_alive: 5m\nmax_qeue: 3\n", "");
  EXPECT_EQ(out.code, 5) << out.text;
  EXPECT_NE(out.text.find("sched_check.yaml:2:1: config: unknown key \"max_qeue\""),
            std::string::npos)
      << out.text;
  out = check("h100_mig_3x2g.json", "slices:\n  - {name: a, device: 3, memory: 4GiB}\n", "");
  EXPECT_EQ(out.code, 5) << out.text;
  EXPECT_NE(out.text.find(":2: slices: slice \"a\": device \"3\" is not a visible GPU"),
            std::string::npos)
      << out.text;
  out = check("h100_mig_3x2g.json", "keep_alive: -3h\n", "");
  EXPECT_EQ(out.code, 5);
  EXPECT_NE(out.text.find("-1 to keep the model loaded forever"), std::string::npos) << out.text;
}

}  // namespace
