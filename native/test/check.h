// A tiny test harness (no framework can be downloaded here). TEST_CASE(name) registers a case;
// CMake registers one ctest test per case by scanning for lines that start with TEST_CASE(.
// CHECK* record a failure with file:line and let the case go on; a case fails if any check did.
#pragma once

#include <cstdio>
#include <functional>
#include <map>
#include <string>

namespace vstest {

struct Registry {
  static std::map<std::string, std::function<void()>>& cases() {
    static std::map<std::string, std::function<void()>> all;
    return all;
  }
  static int& failures() {
    static int count = 0;
    return count;
  }
};

struct Registrar {
  Registrar(const char* name, std::function<void()> fn) { Registry::cases()[name] = std::move(fn); }
};

inline void fail(const char* file, int line, const std::string& what) {
  ++Registry::failures();
  std::fprintf(stderr, "  FAILED %s:%d: %s\n", file, line, what.c_str());
}

}  // namespace vstest

#define TEST_CASE(name)                                                 \
  static void vstest_##name();                                          \
  static const vstest::Registrar vstest_reg_##name(#name, vstest_##name); \
  static void vstest_##name()

#define CHECK(cond)                                                  \
  do {                                                               \
    if (!(cond)) vstest::fail(__FILE__, __LINE__, "CHECK(" #cond ")"); \
  } while (0)

#define CHECK_EQ(a, b)                                                              \
  do {                                                                              \
    if (!((a) == (b))) vstest::fail(__FILE__, __LINE__, "CHECK_EQ(" #a ", " #b ")"); \
  } while (0)

// Expects `expr` to throw vs::Error with the given vs::Code.
#define CHECK_THROWS_CODE(expr, expected)                                                 \
  do {                                                                                    \
    bool vstest_threw_ = false;                                                           \
    try {                                                                                 \
      (void)(expr);                                                                       \
    } catch (const vs::Error& vstest_e_) {                                                \
      vstest_threw_ = true;                                                               \
      if (vstest_e_.code() != (expected)) {                                               \
        vstest::fail(__FILE__, __LINE__,                                                  \
                     std::string("wrong code ") + vs::code_name(vstest_e_.code()) + " from " #expr); \
      }                                                                                   \
    }                                                                                     \
    if (!vstest_threw_) vstest::fail(__FILE__, __LINE__, "no vs::Error from " #expr);      \
  } while (0)
