// Argument handling shared by the `netobs` subcommands: `--flag value` and
// `--flag=value` forms, and the usage error they throw (exit code 2).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace netobs {

// A bad command line; the command prints `message` and its usage, exits 2.
class UsageError {
 public:
  explicit UsageError(std::string text) : message(std::move(text)) {}
  std::string message;
};

// Walks the arguments one flag at a time: `for (ArgCursor a(args); a.next();)`.
class ArgCursor {
 public:
  explicit ArgCursor(const std::vector<std::string>& args) : args_(args) {}

  // Moves to the next argument; false past the last one.
  bool next() {
    if (++index_ >= args_.size()) return false;
    flag_ = args_[index_];
    inline_value_.reset();
    if (flag_.rfind("--", 0) == 0) {
      if (auto eq = flag_.find('='); eq != std::string::npos) {
        inline_value_ = flag_.substr(eq + 1);
        flag_.resize(eq);
      }
    }
    return true;
  }
  // The argument as given, `=value` included (for "unknown option" errors).
  const std::string& current() const { return args_[index_]; }
  // The flag without any `=value` part.
  const std::string& flag() const { return flag_; }
  // The flag's value: after `=` or the next argument.
  std::string value() {
    if (inline_value_) return *inline_value_;
    if (index_ + 1 >= args_.size()) throw UsageError(flag_ + " needs a value");
    return args_[++index_];
  }
  // For switches: `--zero=1` is an error rather than silently ignored.
  void no_value() const {
    if (inline_value_) throw UsageError(flag_ + " takes no value");
  }

 private:
  const std::vector<std::string>& args_;
  size_t index_ = static_cast<size_t>(-1);
  std::string flag_;
  std::optional<std::string> inline_value_;
};

}  // namespace netobs
