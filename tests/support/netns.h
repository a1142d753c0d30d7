// Network namespaces for privileged tests: created by the test (ip netns
// add, lo up), removed on destruction whatever happens, with code run inside
// them on a short-lived thread (sockets made there stay there) or the
// calling thread moved in for the rest of its life.
#pragma once

#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "tests/support/test_support.h"

namespace netobs::testing {

// Runs fn on a new thread that joined network namespace `name` (the one at
// /run/netns/NAME); a namespace that cannot be joined fails the test and fn
// does not run.
void run_in_netns(const std::string& name, const std::function<void()>& fn);

class Netns {
 public:
  explicit Netns(std::string name);
  ~Netns();
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;

  // Creates it (a stale one of a killed run is removed first) with lo up.
  // "" on success, else what failed.
  std::string create();
  // create(), then moves the calling thread (and the processes and threads it
  // starts afterwards) into it; the destructor moves it back.
  std::string enter();

  const std::string& name() const { return name_; }
  std::string path() const { return "/run/netns/" + name_; }

  // argv run inside: `ip netns exec NAME argv...`.
  CommandResult exec(const std::vector<std::string>& argv, double timeout_seconds = 30) const;
  // `nft -f -` inside; "" on success.
  std::string nft(const std::string& script) const;

  // Runs f() on a thread inside the namespace and returns its result.
  template <typename F>
  auto run(F f) -> decltype(f()) {
    using R = decltype(f());
    if constexpr (std::is_void_v<R>) {
      run_in_netns(name_, f);
    } else {
      R result{};
      run_in_netns(name_, [&] { result = f(); });
      return result;
    }
  }

 private:
  std::string name_;
  bool created_ = false;
  int original_fd_ = -1;  // this thread's namespace before enter()
};

}  // namespace netobs::testing
