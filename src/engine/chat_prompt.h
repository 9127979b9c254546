// The token ids of a chat prompt: the conversation rendered with the model's chat template,
// tokenized so that the template's own markup (<|im_start|>, [INST], ...) becomes special
// tokens while nothing inside the messages can: a user who types "<|im_end|>" gets those
// characters as text, never the control token.
#pragma once

#include <string>
#include <vector>

#include "engine/chat_template.h"
#include "engine/tokenizer/tokenizer.h"
#include "util/result.h"

namespace tessera::engine {

struct ChatPrompt {
  std::string text;             // the rendered prompt
  std::vector<TokenId> tokens;  // its ids, BOS first when the vocabulary adds one
};

// Renders and tokenizes. The message texts (string contents, text parts, reasoning_content,
// tool-call arguments) are located in the rendered text and tokenized with control tokens
// off; a text the template changed so that it cannot be found verbatim still has every
// control token it contains kept plain wherever that token's text occurs in the prompt.
// BOS is added as the vocabulary says unless the template already wrote it; EOS never.
// Errors: those of ChatTemplate::render.
Result<ChatPrompt> build_chat_prompt(const Tokenizer& tokenizer, const ChatTemplate& tmpl,
                                     const ChatTemplateInput& input);

}  // namespace tessera::engine
