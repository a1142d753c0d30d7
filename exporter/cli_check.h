// `netobs check`: validates a config and prints what this machine offers each
// collector (preflight, attach type per program) with the fix for what is missing.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace netobs {

int run_check_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace netobs
