// Runs one test case (`core_tests <name>`, as ctest does), or all of them without arguments.
#include <cstdio>
#include <exception>

#include "check.h"

namespace {

bool run_case(const std::string& name, const std::function<void()>& fn) {
  const int before = vstest::Registry::failures();
  try {
    fn();
  } catch (const std::exception& e) {
    vstest::fail(__FILE__, __LINE__, std::string("unexpected exception: ") + e.what());
  }
  const bool ok = vstest::Registry::failures() == before;
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", name.c_str());
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  auto& cases = vstest::Registry::cases();
  if (argc > 1) {
    auto it = cases.find(argv[1]);
    if (it == cases.end()) {
      std::fprintf(stderr, "no test case named %s\n", argv[1]);
      return 2;
    }
    return run_case(it->first, it->second) ? 0 : 1;
  }
  int failed = 0;
  for (const auto& [name, fn] : cases) failed += run_case(name, fn) ? 0 : 1;
  std::printf("%zu cases, %d failed\n", cases.size(), failed);
  return failed == 0 ? 0 : 1;
}
