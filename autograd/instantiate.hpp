// Explicit instantiation of a source file's templates for the scalar types
// Rewind supports, float and double. A source lists its templates once:
//
//   #define REWIND_INSTANTIATE(T) template Tensor<T> relu<T>(const Tensor<T>&);
//   REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
//   #undef REWIND_INSTANTIATE
//
// Used by the library's sources only; not installed.
#pragma once

#define REWIND_FOR_EACH_SCALAR(MACRO) MACRO(float) MACRO(double)
