#include "exporter/net/cidr.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace netobs {
namespace {

int max_prefix(int family) { return family == AF_INET ? 32 : 128; }

bool bit_set(const uint8_t* bytes, int bit) { return (bytes[bit / 8] & (0x80 >> (bit % 8))) != 0; }

bool is_v4_mapped(const uint8_t* a) {
  static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(a, kPrefix, sizeof kPrefix) == 0;
}

}  // namespace

bool Cidr::contains(int address_family, const uint8_t* address) const {
  if (address_family != family) return false;
  const int full = prefix_len / 8;
  if (std::memcmp(bytes.data(), address, full) != 0) return false;
  for (int bit = full * 8; bit < prefix_len; ++bit) {
    if (bit_set(bytes.data(), bit) != bit_set(address, bit)) return false;
  }
  return true;
}

std::string Cidr::to_string() const {
  return format_address(family, bytes.data()) + "/" + std::to_string(prefix_len);
}

Result<Cidr> parse_cidr(std::string_view text, bool strict) {
  const std::string whole(text);
  const size_t slash = whole.find('/');
  const std::string address = whole.substr(0, slash);
  Cidr cidr;
  if (inet_pton(AF_INET, address.c_str(), cidr.bytes.data()) == 1) {
    cidr.family = AF_INET;
  } else if (inet_pton(AF_INET6, address.c_str(), cidr.bytes.data()) == 1) {
    cidr.family = AF_INET6;
  } else {
    return Status::error("\"" + whole + "\": \"" + address + "\" is not an IPv4 or IPv6 address");
  }
  int prefix = max_prefix(cidr.family);
  if (slash != std::string::npos) {
    const std::string digits = whole.substr(slash + 1);
    const bool ok =
        !digits.empty() && digits.size() <= 3 &&
        std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
    prefix = ok ? std::stoi(digits) : -1;
    if (prefix < 0 || prefix > max_prefix(cidr.family)) {
      return Status::error("\"" + whole + "\": the prefix length must be 0.." +
                           std::to_string(max_prefix(cidr.family)));
    }
  }
  cidr.prefix_len = static_cast<uint8_t>(prefix);
  bool host_bits = false;
  for (int bit = prefix; bit < max_prefix(cidr.family); ++bit) {
    if (bit_set(cidr.bytes.data(), bit)) host_bits = true;
    cidr.bytes[bit / 8] = static_cast<uint8_t>(cidr.bytes[bit / 8] & ~(0x80 >> (bit % 8)));
  }
  if (host_bits && strict) {
    return Status::error("\"" + whole + "\": host bits are set; did you mean \"" +
                         cidr.to_string() + "\"?");
  }
  return cidr;
}

const std::vector<Cidr>& non_external_ranges() {
  static const std::vector<Cidr> kRanges = [] {
    std::vector<Cidr> out;
    for (const char* text :
         {"0.0.0.0/8",      "10.0.0.0/8",    "100.64.0.0/10",   "127.0.0.0/8",
          "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",    "192.0.2.0/24",
          "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
          "224.0.0.0/4",    "240.0.0.0/4",   "::/128",          "::1/128",
          "fc00::/7",       "fe80::/10",     "ff00::/8",        "2001:db8::/32"}) {
      out.push_back(*parse_cidr(text));
    }
    return out;
  }();
  return kRanges;
}

bool is_external_address(int family, const uint8_t* address) {
  if (family == AF_INET6 && is_v4_mapped(address))
    return is_external_address(AF_INET, address + 12);
  for (const Cidr& range : non_external_ranges()) {
    if (range.contains(family, address)) return false;
  }
  return true;
}

std::string format_address(int family, const uint8_t* address, bool unmap) {
  if (family == AF_INET6 && unmap && is_v4_mapped(address)) {
    return format_address(AF_INET, address + 12);
  }
  char text[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(family, address, text, sizeof text) == nullptr) return "?";
  return text;
}

}  // namespace netobs
