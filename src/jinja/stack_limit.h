// How close the calling thread is to the end of its stack, so that recursion on hostile input
// (deeply nested templates or macro recursion) stops with an error instead of overflowing,
// whatever stack size the thread was given and however large the frames of this build are.
#pragma once

namespace tessera::jinja {

// True once less than a safety margin of the calling thread's stack is left. Always false
// where the stack cannot be inspected (then only the depth limits of Options apply).
bool stack_nearly_exhausted();

}  // namespace tessera::jinja
