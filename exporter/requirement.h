// What a collector needs from the machine; preflight checks each one.
#pragma once

namespace netobs {

enum class Requirement { kBtf, kBpfPrivileges, kNetAdmin, kNetRaw, kTracefs, kCgroup2 };

}  // namespace netobs
