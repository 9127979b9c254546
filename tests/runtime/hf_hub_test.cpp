#include "runtime/hf_hub.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <optional>
#include <string>
#include <vector>

namespace tessera::runtime {
namespace {

TEST(HfHub, ParsesRepoFileAndTag) {
  auto r = parse_pull_ref("Qwen/Qwen2.5-0.5B-Instruct-GGUF:qwen2.5-0.5b-instruct-q4_k_m.gguf");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->repo, "Qwen/Qwen2.5-0.5B-Instruct-GGUF");
  EXPECT_EQ(r->file, "qwen2.5-0.5b-instruct-q4_k_m.gguf");
  EXPECT_EQ(r->tag, "");
  r = parse_pull_ref("bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tag, "Q4_K_M");
  EXPECT_EQ(r->file, "");
  r = parse_pull_ref("gpt2");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->repo, "gpt2");
  r = parse_pull_ref("org/repo:sub/dir/Model.GGUF");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->file, "sub/dir/Model.GGUF");
}

TEST(HfHub, RefusesBadReferences) {
  for (const char* bad :
       {"", ":x.gguf", "a/b/c", "../x", "org/..", "org/.hidden", "org/-x", "org/a--b", "org/a b",
        "org/r:", "org/r:../x.gguf", "org/r:a//b.gguf", "org/r:a\\b.gguf", "org/r:/abs.gguf",
        "org/r:x.bin/../y", "org/r:Q4 K M", "org/r:a\x01.gguf", "/repo"}) {
    auto r = parse_pull_ref(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::invalid_argument) << bad;
  }
  EXPECT_FALSE(parse_pull_ref("org/" + std::string(97, 'a')).ok());
  EXPECT_FALSE(validate_repo_file("x.safetensors").ok());
  EXPECT_FALSE(validate_revision("").ok());
  EXPECT_FALSE(validate_revision("../main").ok());
  EXPECT_FALSE(validate_revision("a\nb").ok());
  EXPECT_TRUE(validate_revision("refs/pr/1").ok());
}

TEST(HfHub, BuildsUrlsWithEncodedParts) {
  const std::string base = "https://huggingface.co";
  EXPECT_EQ(hub_file_url(base, "Qwen/Q-GGUF", "main", "q4.gguf"),
            "https://huggingface.co/Qwen/Q-GGUF/resolve/main/q4.gguf");
  EXPECT_EQ(hub_file_url(base, "o/r", "refs/pr/1", "dir/a b.gguf"),
            "https://huggingface.co/o/r/resolve/refs%2Fpr%2F1/dir/a%20b.gguf");
  EXPECT_EQ(hub_repo_info_url(base, "o/r", "main"), "https://huggingface.co/api/models/o/r");
  EXPECT_EQ(hub_repo_info_url(base, "o/r", "v1"),
            "https://huggingface.co/api/models/o/r/revision/v1");
  EXPECT_EQ(hub_tree_url(base, "o/r", "main", "a.gguf"),
            "https://huggingface.co/api/models/o/r/tree/main");
  EXPECT_EQ(hub_tree_url(base, "o/r", "main", "d/e/a.gguf"),
            "https://huggingface.co/api/models/o/r/tree/main/d/e");
}

TEST(HfHub, BaseUrlFromFlagEnvironmentOrDefault) {
  const char* before = getenv("HF_ENDPOINT");
  const std::optional<std::string> saved =
      before ? std::optional<std::string>(before) : std::nullopt;
  unsetenv("HF_ENDPOINT");
  auto b = hub_base_url(std::nullopt);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, "https://huggingface.co");
  setenv("HF_ENDPOINT", "http://mirror.local:8080/hf/", 1);
  b = hub_base_url(std::nullopt);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, "http://mirror.local:8080/hf");
  b = hub_base_url(std::string("http://127.0.0.1:9"));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, "http://127.0.0.1:9");
  setenv("HF_ENDPOINT", "mirror.local", 1);
  b = hub_base_url(std::nullopt);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message.find("HF_ENDPOINT"), std::string::npos);
  unsetenv("HF_ENDPOINT");
  EXPECT_FALSE(hub_base_url(std::string("ftp://x")).ok());
  EXPECT_FALSE(hub_base_url(std::string("http://x/?q=1")).ok());
  if (saved) setenv("HF_ENDPOINT", saved->c_str(), 1);
}

TEST(HfHub, ChoosesTheGgufToPull) {
  const PullRef plain{"o/r", "", ""};
  EXPECT_EQ(*choose_gguf({"README.md", "model.Q8_0.gguf", "config.json"}, plain),
            "model.Q8_0.gguf");
  EXPECT_EQ(*choose_gguf({"m-Q8_0.gguf", "m-Q4_K_M.gguf", "m-Q2_K.gguf"}, plain), "m-Q4_K_M.gguf");
  auto several = choose_gguf({"m-Q8_0.gguf", "m-Q2_K.gguf"}, plain);
  ASSERT_FALSE(several.ok());
  EXPECT_EQ(several.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(several.error().message.find("m-Q8_0.gguf"), std::string::npos);
  EXPECT_NE(several.error().message.find("m-Q2_K.gguf"), std::string::npos);
  EXPECT_NE(several.error().message.find("tessera pull o/r:FILE"), std::string::npos);
  auto none = choose_gguf({"model.safetensors"}, plain);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::not_found);
  auto split = choose_gguf({"big-00001-of-00002.gguf", "big-00002-of-00002.gguf"}, plain);
  ASSERT_FALSE(split.ok());
  EXPECT_EQ(split.error().code, ErrorCode::unsupported);
  EXPECT_EQ(*choose_gguf({"m-Q8_0.gguf", "m-q5_k_m.gguf"}, PullRef{"o/r", "", "Q5_K_M"}),
            "m-q5_k_m.gguf");
  auto no_tag = choose_gguf({"m-Q8_0.gguf"}, PullRef{"o/r", "", "Q3_K"});
  ASSERT_FALSE(no_tag.ok());
  EXPECT_EQ(no_tag.error().code, ErrorCode::not_found);
  // Hostile names in a listing are never offered.
  EXPECT_FALSE(choose_gguf({"../../evil.gguf", "a\nb.gguf"}, plain).ok());
  std::vector<std::string> many;
  for (int i = 0; i < 50; ++i) many.push_back(std::string("m").append(std::to_string(i)) + ".gguf");
  auto long_list = choose_gguf(many, plain);
  ASSERT_FALSE(long_list.ok());
  EXPECT_NE(long_list.error().message.find("and 30 more"), std::string::npos);
}

TEST(HfHub, ParsesTheFileListAndTheTree) {
  auto files = parse_repo_files(R"({"siblings":[{"rfilename":"a.gguf"},{"x":1},7,
                                   {"rfilename":"b.txt"}]})",
                                "GET u");
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(*files, (std::vector<std::string>{"a.gguf", "b.txt"}));
  for (const char* bad : {"", "[]", "{", R"({"siblings":3})", "null"}) {
    auto f = parse_repo_files(bad, "GET u");
    ASSERT_FALSE(f.ok()) << bad;
    EXPECT_EQ(f.error().code, ErrorCode::malformed);
    EXPECT_NE(f.error().message.find("GET u"), std::string::npos);
  }
  const std::string sha(64, 'a');
  const std::string tree = R"([{"path":"x.gguf","lfs":{"oid":")" + sha +
                           R"("}},{"path":"y.gguf"},{"path":"z.gguf","lfs":{"oid":"short"}}])";
  EXPECT_EQ(*parse_tree_sha256(tree, "x.gguf", "u"), sha);
  EXPECT_EQ(*parse_tree_sha256(tree, "y.gguf", "u"), "");
  EXPECT_EQ(*parse_tree_sha256(tree, "z.gguf", "u"), "");
  EXPECT_EQ(*parse_tree_sha256(tree, "missing.gguf", "u"), "");
  EXPECT_FALSE(parse_tree_sha256("{}", "x.gguf", "u").ok());
}

TEST(HfHub, Sha256FromEtags) {
  const std::string sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  EXPECT_EQ(sha256_from_etag("\"" + sha + "\""), sha);
  EXPECT_EQ(sha256_from_etag("W/\"" + sha + "\""), sha);
  std::string upper = sha;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(sha256_from_etag(" " + upper + " "), sha);
  EXPECT_EQ(sha256_from_etag("\"d0b3e1c6a1b2c3d4e5f60718293a4b5c6d7e8f90\""), "");  // a git id
  EXPECT_EQ(sha256_from_etag("\"5f1d-12ab\""), "");
  EXPECT_EQ(sha256_from_etag(""), "");
  EXPECT_EQ(sha256_from_etag("\""), "");
}

TEST(HfHub, DefaultNamesAndSplitFiles) {
  EXPECT_EQ(default_model_name("qwen2.5-0.5b-instruct-q4_k_m.gguf"),
            "qwen2.5-0.5b-instruct-q4_k_m");
  EXPECT_EQ(default_model_name("sub/dir/Model.GGUF"), "Model");
  EXPECT_TRUE(is_split_gguf("Llama-70B-Q4_K_M-00001-of-00002.gguf"));
  EXPECT_FALSE(is_split_gguf("Llama-70B-Q4_K_M.gguf"));
  EXPECT_FALSE(is_split_gguf("-00001-of-00002.gguf"));
}

}  // namespace
}  // namespace tessera::runtime
