#include "exporter/subcommand.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace netobs {
namespace {

constexpr size_t kHelpColumn = 23;  // where help text starts in the usage's flag lists

const Flag kHelpFlag{"--help", "-h", "", "this text"};

const Flag* find_flag(const Subcommand& command, std::string_view name) {
  for (const FlagGroup& group : command.flag_groups) {
    for (const Flag& flag : group.flags) {
      if (flag.name == name || (!flag.short_name.empty() && flag.short_name == name)) return &flag;
    }
  }
  return nullptr;
}

void append_flag(std::string& out, const Flag& flag) {
  std::string left = "  ";
  if (!flag.short_name.empty()) left += flag.short_name + ", ";
  left += flag.name;
  if (!flag.value.empty()) left += " " + flag.value;
  out += left;
  // A long left column puts the help on the next line, aligned.
  out += left.size() + 1 <= kHelpColumn ? std::string(kHelpColumn - left.size(), ' ')
                                        : "\n" + std::string(kHelpColumn, ' ');
  size_t start = 0;
  while (true) {
    const size_t end = flag.help.find('\n', start);
    out += flag.help.substr(start, end == std::string::npos ? std::string::npos : end - start);
    out += '\n';
    if (end == std::string::npos) break;
    out += std::string(kHelpColumn, ' ');
    start = end + 1;
  }
}

}  // namespace

FlagArg split_flag_arg(const std::string& arg) {
  if (const size_t eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
    return {arg.substr(0, eq), arg.substr(eq + 1)};
  }
  return {arg, std::nullopt};
}

uint64_t parse_whole_flag(const std::string& flag, const std::string& text, uint64_t min,
                          uint64_t max) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    const std::string range = max == UINT64_MAX
                                  ? ">= " + std::to_string(min)
                                  : "from " + std::to_string(min) + " to " + std::to_string(max);
    throw UsageError(flag + " needs a whole number " + range + ", got \"" + text + "\"");
  }
  return value;
}

double parse_seconds_flag(const std::string& flag, const std::string& text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !(value > 0) ||
      !std::isfinite(value)) {
    throw UsageError(flag + " needs a positive number of seconds, got \"" + text + "\"");
  }
  return value;
}

bool ParsedFlags::has(std::string_view name) const {
  return std::any_of(entries_.begin(), entries_.end(),
                     [name](const Entry& e) { return e.flag->name == name; });
}

std::optional<std::string> ParsedFlags::last(std::string_view name) const {
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    if (it->flag->name == name) return it->value;
  }
  return std::nullopt;
}

std::string subcommand_usage(const Subcommand& command) {
  std::string out = "usage: netobs " + command.name + " [flags]\n";
  if (!command.description.empty()) out += "\n" + command.description;
  for (const FlagGroup& group : command.flag_groups) {
    out += "\n" + group.title + "\n";
    for (const Flag& flag : group.flags) append_flag(out, flag);
  }
  append_flag(out, kHelpFlag);
  if (!command.epilog.empty()) out += "\n" + command.epilog;
  return out;
}

std::optional<ParsedFlags> parse_subcommand_flags(const Subcommand& command,
                                                  const std::vector<std::string>& args) {
  ParsedFlags parsed;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") return std::nullopt;
    auto [name, inline_value] = split_flag_arg(arg);
    const Flag* flag = find_flag(command, name);
    if (flag == nullptr) {
      throw UsageError(arg.rfind("-", 0) == 0 ? "unknown flag \"" + arg + "\""
                                              : "unexpected argument \"" + arg + "\"");
    }
    if (flag->value.empty()) {
      if (inline_value) throw UsageError(name + " takes no value");
      parsed.add(flag, "");
    } else if (inline_value) {
      parsed.add(flag, *inline_value);
    } else if (i + 1 < args.size()) {
      parsed.add(flag, args[++i]);
    } else {
      throw UsageError(name + " needs a value (" + flag->value + ")");
    }
  }
  return parsed;
}

int run_subcommand(const Subcommand& command, const std::vector<std::string>& args,
                   std::ostream& out, std::ostream& err) {
  try {
    std::optional<ParsedFlags> parsed = parse_subcommand_flags(command, args);
    if (!parsed) {
      out << subcommand_usage(command);
      return 0;
    }
    return command.run(*parsed, out, err);
  } catch (const UsageError& e) {
    err << "netobs " << command.name << ": " << e.message << "\n\n" << subcommand_usage(command);
    return 2;
  }
}

int run_subcommands(const std::vector<Subcommand>& commands, const std::vector<std::string>& args,
                    std::ostream& out, std::ostream& err, std::string_view version_line) {
  auto list = [&commands](std::ostream& to) {
    to << "usage: netobs <command> [flags]\n\ncommands:\n";
    for (const Subcommand& c : commands) {
      to << "  " << c.name << std::string(c.name.size() < 10 ? 10 - c.name.size() : 1, ' ')
         << c.summary << "\n";
    }
    to << "\nRun `netobs <command> --help` for a command's flags. `netobs --version` prints the "
          "version.\n";
  };
  if (args.empty()) {
    list(err);
    return 2;
  }
  const std::string& name = args[0];
  if (name == "-h" || name == "--help" || name == "help") {
    list(out);
    return 0;
  }
  if (name == "--version" || name == "version") {
    out << version_line << "\n";
    return 0;
  }
  for (const Subcommand& c : commands) {
    if (c.name == name) return run_subcommand(c, {args.begin() + 1, args.end()}, out, err);
  }
  err << "netobs: unknown command \"" << name << "\"\n\n";
  list(err);
  return 2;
}

sigset_t block_stop_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return signals;
}

}  // namespace netobs
