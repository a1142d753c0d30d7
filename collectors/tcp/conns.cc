#include "collectors/tcp/conns.h"

#include <linux/sock_diag.h>

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string_view>

#include "exporter/json_writer.h"

namespace netobs {
namespace {

std::string percent(double ratio) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f %%", ratio * 100);
  return buffer;
}

std::string millis(uint32_t micros) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3f", micros / 1000.0);
  return buffer;
}

uint64_t bytes_total(const TcpSocketRecord& r) {
  return r.info.tcpi_bytes_acked + r.info.tcpi_bytes_received;
}

// Appends to one string: the table and JSON writers use it instead of a
// stream per field (20 000 rows were ~25 ms through printf and ostream).
struct RowWriter {
  std::string text;
  void put(std::string_view v) { text.append(v); }
  void put(char c) { text.push_back(c); }
  // printf's %-Ns and %Ns.
  void left(std::string_view v, size_t width) {
    text.append(v);
    if (v.size() < width) text.append(width - v.size(), ' ');
  }
  void right(std::string_view v, size_t width) {
    if (v.size() < width) text.append(width - v.size(), ' ');
    text.append(v);
  }
  template <typename T>
  void number(T v) {
    char buffer[24];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
    text.append(buffer, end);
  }
  template <typename T>
  void key_number(std::string_view key, T v) {
    text.append(key);
    number(v);
  }
  // A JSON string literal, through the one shared escaper.
  void json(std::string_view v) { append_json_string(text, v); }
};

// Formats one value at a time into its own small buffer; the view is valid
// until the same function is called again.
class Field {
 public:
  template <typename T>
  std::string_view number(T v) {
    auto [end, ec] = std::to_chars(number_, number_ + sizeof number_, v);
    return {number_, static_cast<size_t>(end - number_)};
  }
  // "N/M".
  template <typename A, typename B>
  std::string_view pair(A a, B b) {
    char* end = std::to_chars(pair_, pair_ + sizeof pair_, a).ptr;
    *end++ = '/';
    end = std::to_chars(end, pair_ + sizeof pair_, b).ptr;
    return {pair_, static_cast<size_t>(end - pair_)};
  }
  // "+N".
  std::string_view plus(uint64_t v) {
    plus_[0] = '+';
    char* end = std::to_chars(plus_ + 1, plus_ + sizeof plus_, v).ptr;
    return {plus_, static_cast<size_t>(end - plus_)};
  }
  // Microseconds as milliseconds with 3 decimals: what "%.3f" prints for
  // micros / 1000.0 (exact: the quotient is the nearest double to N/1000).
  std::string_view millis(uint32_t micros) {
    char* end = std::to_chars(millis_, millis_ + sizeof millis_, micros / 1000).ptr;
    const uint32_t rest = micros % 1000;
    *end++ = '.';
    *end++ = static_cast<char>('0' + rest / 100);
    *end++ = static_cast<char>('0' + rest / 10 % 10);
    *end++ = static_cast<char>('0' + rest % 10);
    return {millis_, static_cast<size_t>(end - millis_)};
  }
  // rate() without the std::string: to_chars with a precision prints what
  // printf's %.Nf does.
  std::string_view rate(uint64_t bytes_per_second) {
    double bits = static_cast<double>(bytes_per_second) * 8;
    static constexpr std::string_view kUnits[] = {"bps", "Kbps", "Mbps", "Gbps", "Tbps"};
    size_t unit = 0;
    while (bits >= 1000 && unit + 1 < std::size(kUnits)) {
      bits /= 1000;
      ++unit;
    }
    char* end = std::to_chars(rate_, rate_ + sizeof rate_ - 8, bits, std::chars_format::fixed,
                              unit == 0 ? 0 : 1)
                    .ptr;
    end = std::copy(kUnits[unit].begin(), kUnits[unit].end(), end);
    return {rate_, static_cast<size_t>(end - rate_)};
  }
  // TcpSocketRecord::local_ip() without the std::string.
  std::string_view ip(uint8_t family, const std::array<uint8_t, 16>& addr) {
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (family == AF_INET) return ipv4(addr.data());
    if (std::memcmp(addr.data(), kMapped, sizeof kMapped) == 0) return ipv4(addr.data() + 12);
    inet_ntop(AF_INET6, addr.data(), ip_, sizeof ip_);
    return ip_;
  }
  // What inet_ntop prints for IPv4 ("a.b.c.d"), without its sprintf.
  std::string_view ipv4(const uint8_t* bytes) {
    char* end = ip_;
    for (int k = 0; k < 4; ++k) {
      if (k) *end++ = '.';
      end = std::to_chars(end, ip_ + sizeof ip_, bytes[k]).ptr;
    }
    return {ip_, static_cast<size_t>(end - ip_)};
  }
  // endpoint(ip, port): "10.0.0.1:2181" or "[::1]:2181".
  std::string_view endpoint(uint8_t family, const std::array<uint8_t, 16>& addr, uint16_t port) {
    const std::string_view address = ip(family, addr);
    const bool brackets = address.find(':') != std::string_view::npos;
    char* end = endpoint_;
    if (brackets) *end++ = '[';
    end = std::copy(address.begin(), address.end(), end);
    if (brackets) *end++ = ']';
    *end++ = ':';
    end = std::to_chars(end, endpoint_ + sizeof endpoint_, port).ptr;
    return {endpoint_, static_cast<size_t>(end - endpoint_)};
  }

 private:
  char number_[24];
  char pair_[48];
  char plus_[24];
  char millis_[24];
  char rate_[48];
  char ip_[INET6_ADDRSTRLEN];
  char endpoint_[INET6_ADDRSTRLEN + 10];
};

}  // namespace

std::string endpoint(const std::string& ip, uint16_t port) {
  if (ip.find(':') != std::string::npos) return "[" + ip + "]:" + std::to_string(port);
  return ip + ":" + std::to_string(port);
}

std::set<uint16_t> listening_ports(const std::vector<TcpSocketRecord>& records) {
  std::set<uint16_t> ports;
  for (const TcpSocketRecord& r : records) {
    if (r.state == kTcpListen) ports.insert(r.local_port);
  }
  return ports;
}

bool conn_matches(const TcpSocketRecord& record, const ConnsFilter& filter,
                  const std::set<uint16_t>& listening) {
  if (filter.states.empty()) {
    if (record.state == kTcpListen) return false;
  } else if (!filter.states.contains(record.state)) {
    return false;
  }
  if (filter.local_port && record.local_port != *filter.local_port) return false;
  if (filter.remote_port && record.remote_port != *filter.remote_port) return false;
  if (filter.local_ip && record.local_ip() != *filter.local_ip) return false;
  if (filter.remote_ip && record.remote_ip() != *filter.remote_ip) return false;
  if (filter.role != ConnsRole::kAny) {
    const bool server = record.state != kTcpListen && listening.contains(record.local_port);
    if ((filter.role == ConnsRole::kServer) != server) return false;
  }
  return true;
}

void sort_and_cut(std::vector<ConnView>& conns, ConnsSort sort, size_t top) {
  if (sort == ConnsSort::kNone) {
    if (top > 0 && conns.size() > top) conns.resize(top);
    return;
  }
  auto key = [sort](const ConnView& c) -> uint64_t {
    switch (sort) {
      case ConnsSort::kRtt:
        return c.record.info.tcpi_rtt;
      case ConnsSort::kRetrans:
        return c.record.info.tcpi_total_retrans;
      case ConnsSort::kBytes:
        return bytes_total(c.record);
      case ConnsSort::kNone:
        break;
    }
    return 0;
  };
  // Sorts (key, position) pairs, not the views (~500 bytes each): with 20 000
  // sockets moving views was a tenth of `netobs conns`. The position breaks
  // ties, so the order is stable; with --top only the first N are ordered.
  std::vector<std::pair<uint64_t, uint32_t>> order(conns.size());
  for (size_t i = 0; i < conns.size(); ++i) order[i] = {key(conns[i]), static_cast<uint32_t>(i)};
  auto before = [](const std::pair<uint64_t, uint32_t>& a, const std::pair<uint64_t, uint32_t>& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  };
  const size_t keep = top > 0 ? std::min(top, order.size()) : order.size();
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(keep), order.end(),
                    before);
  std::vector<ConnView> sorted;
  sorted.reserve(keep);
  for (size_t i = 0; i < keep; ++i) sorted.push_back(std::move(conns[order[i].second]));
  conns = std::move(sorted);
}

void apply_deltas(std::vector<ConnView>& conns, const ConnHistory& previous) {
  for (ConnView& c : conns) {
    auto it = previous.find(c.record.cookie);
    const ConnCounters before = it != previous.end() ? it->second : ConnCounters{};
    // A connection new since the last refresh: everything it did is new.
    auto grew = [](uint64_t now, uint64_t then) { return now >= then ? now - then : now; };
    c.retrans_delta = grew(c.record.info.tcpi_total_retrans, before.total_retrans);
    c.sent_delta = grew(c.record.info.tcpi_bytes_acked, before.bytes_acked);
    c.received_delta = grew(c.record.info.tcpi_bytes_received, before.bytes_received);
  }
}

ConnHistory remember(const std::vector<TcpSocketRecord>& records) {
  ConnHistory history;
  for (const TcpSocketRecord& r : records) {
    history[r.cookie] = {r.info.tcpi_total_retrans, r.info.tcpi_bytes_acked,
                         r.info.tcpi_bytes_received};
  }
  return history;
}

std::string describe_system(const SystemRatios& system) {
  std::vector<std::string> parts;
  if (system.retransmission)
    parts.push_back("retransmission ratio " + percent(*system.retransmission));
  if (system.tlp_share) parts.push_back("TLP share " + percent(*system.tlp_share));
  if (system.fast_share) parts.push_back("fast retransmit share " + percent(*system.fast_share));
  if (system.rto_share) parts.push_back("RTO share " + percent(*system.rto_share));
  std::string out = "system (" + system.span + "): ";
  if (parts.empty()) return out + "no TCP retransmissions";
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
  return out;
}

std::vector<std::string> explain_connection(const ConnView& conn,
                                            const std::optional<SystemRatios>& system,
                                            const SnmpThresholds& thresholds,
                                            std::optional<double> interval_seconds) {
  std::vector<std::string> lines;
  const TcpSocketRecord& r = conn.record;
  if (!r.has_info) {
    lines.push_back("no tcp_info for this socket (state " + std::string(tcp_state_name(r.state)) +
                    ")");
    return lines;
  }
  const tcp_info& info = r.info;

  if (info.tcpi_total_retrans > 0) {
    std::string line = std::to_string(info.tcpi_total_retrans) + " retransmissions, " +
                       std::to_string(info.tcpi_retrans) + " unacked";
    if (conn.retrans_delta && interval_seconds) {
      char span[32];
      std::snprintf(span, sizeof span, "%g", *interval_seconds);
      line += " (+" + std::to_string(*conn.retrans_delta) + " in the last " + span + " s)";
    }
    if (info.tcpi_segs_out > 0) {
      line += ", " + percent(static_cast<double>(info.tcpi_total_retrans) / info.tcpi_segs_out) +
              " of " + std::to_string(info.tcpi_segs_out) + " segments sent";
    }
    if (system && system->tlp_share) {
      line += "; system TLP share " + percent(*system->tlp_share);
      if (*system->tlp_share > thresholds.tlp_share_warning) {
        line += " — receive window likely too small";
      } else if (system->fast_share && *system->fast_share > 0.5) {
        line += ", fast retransmits " + percent(*system->fast_share) + " — packet loss on the path";
      } else if (system->rto_share && *system->rto_share > 0.3) {
        line += ", timeouts " + percent(*system->rto_share) +
                " — losses the receiver cannot signal (tail drops, dead peer)";
      }
    }
    lines.push_back(line);
  }
  if (info.tcpi_backoff > 0 || info.tcpi_retransmits > 0) {
    lines.push_back(std::to_string(std::max<unsigned>(info.tcpi_retransmits, info.tcpi_backoff)) +
                    " consecutive timeouts in progress (RTO " + millis(info.tcpi_rto) +
                    " ms) — the peer is unreachable or the path drops everything");
  }
  if (info.tcpi_lost > 0) {
    lines.push_back(std::to_string(info.tcpi_lost) + " segments currently presumed lost");
  }
  if (info.tcpi_busy_time > 0) {
    const double busy = static_cast<double>(info.tcpi_busy_time);
    if (info.tcpi_rwnd_limited / busy > 0.1) {
      lines.push_back("sending was limited by the peer's receive window " +
                      percent(info.tcpi_rwnd_limited / busy) + " of the busy time (window " +
                      std::to_string(info.tcpi_snd_wnd) +
                      " bytes) — receive window too small or the peer reads too slowly");
    }
    if (info.tcpi_sndbuf_limited / busy > 0.1) {
      lines.push_back("sending was limited by the local send buffer " +
                      percent(info.tcpi_sndbuf_limited / busy) +
                      " of the busy time — raise SO_SNDBUF or net.ipv4.tcp_wmem");
    }
  }
  if (r.has_skmem && r.skmem[SK_MEMINFO_DROPS] > 0) {
    lines.push_back(std::to_string(r.skmem[SK_MEMINFO_DROPS]) +
                    " packets dropped at this socket — the application reads too slowly or "
                    "SO_RCVBUF / net.ipv4.tcp_rmem is too small");
  } else if (r.has_skmem && r.skmem[SK_MEMINFO_RCVBUF] > 0 &&
             r.skmem[SK_MEMINFO_RMEM_ALLOC] > 0.8 * r.skmem[SK_MEMINFO_RCVBUF]) {
    lines.push_back(
        "receive buffer " +
        percent(static_cast<double>(r.skmem[SK_MEMINFO_RMEM_ALLOC]) / r.skmem[SK_MEMINFO_RCVBUF]) +
        " full — the application is not reading");
  }
  if (info.tcpi_min_rtt > 0 && info.tcpi_rtt > 2 * info.tcpi_min_rtt &&
      info.tcpi_rtt - info.tcpi_min_rtt > 1000) {
    char factor[32];
    std::snprintf(factor, sizeof factor, "%.1f",
                  static_cast<double>(info.tcpi_rtt) / info.tcpi_min_rtt);
    lines.push_back("smoothed RTT " + millis(info.tcpi_rtt) + " ms is " + factor +
                    "x the minimum " + millis(info.tcpi_min_rtt) +
                    " ms — queueing delay (congestion or bufferbloat)");
  }
  if (info.tcpi_dsack_dups > 0) {
    lines.push_back(std::to_string(info.tcpi_dsack_dups) +
                    " retransmissions were unnecessary (DSACK), reordering seen " +
                    std::to_string(info.tcpi_reord_seen) + " times");
  }
  if (lines.empty()) {
    lines.push_back("healthy: no retransmissions, RTT " + millis(info.tcpi_rtt) + " ms (min " +
                    millis(info.tcpi_min_rtt) + " ms)");
  }
  return lines;
}

std::string format_conns_table(const std::vector<ConnView>& conns, bool with_deltas) {
  RowWriter out;
  out.text.reserve(256 + conns.size() * 240);
  char line[512];
  std::snprintf(line, sizeof line,
                "%-11s %-23s %-23s %-6s %9s %8s %8s %9s%s %5s %6s %7s %7s %12s %12s %10s %10s "
                "%-17s %-17s %s\n",
                "STATE", "LOCAL", "REMOTE", "ROLE", "RTT_MS", "VAR_MS", "MIN_MS", "RETRANS",
                with_deltas ? "   +RETR" : "", "LOST", "CWND", "SSTHR", "UNACKED", "BYTES_ACKED",
                "BYTES_RECV", "DELIVERY", "PACING", "RMEM/RCVBUF", "WMEM/SNDBUF", "PROCESS");
  out.put(line);
  // The columns of the header's format, written without printf: one buffer,
  // std::to_chars (the same bytes as the printf format this replaced).
  Field field;
  for (const ConnView& c : conns) {
    const TcpSocketRecord& r = c.record;
    const tcp_info& i = r.info;
    out.left(tcp_state_name(r.state), 11);
    out.put(' ');
    out.left(field.endpoint(r.family, r.local_addr, r.local_port), 23);
    out.put(' ');
    out.left(field.endpoint(r.family, r.remote_addr, r.remote_port), 23);
    out.put(' ');
    out.left(c.server ? "server" : "client", 6);
    out.put(' ');
    out.right(field.millis(i.tcpi_rtt), 9);
    out.put(' ');
    out.right(field.millis(i.tcpi_rttvar), 8);
    out.put(' ');
    out.right(field.millis(i.tcpi_min_rtt), 8);
    out.put(' ');
    out.right(field.pair(i.tcpi_retrans, i.tcpi_total_retrans), 9);
    if (with_deltas) {
      out.put(' ');
      out.right(c.retrans_delta ? field.plus(*c.retrans_delta) : std::string_view("-"), 8);
    }
    out.put(' ');
    out.right(field.number(i.tcpi_lost), 5);
    out.put(' ');
    out.right(field.number(i.tcpi_snd_cwnd), 6);
    out.put(' ');
    out.right(field.number(i.tcpi_snd_ssthresh), 7);
    out.put(' ');
    out.right(field.number(i.tcpi_unacked), 7);
    out.put(' ');
    out.right(field.number(i.tcpi_bytes_acked), 12);
    out.put(' ');
    out.right(field.number(i.tcpi_bytes_received), 12);
    out.put(' ');
    out.right(field.rate(i.tcpi_delivery_rate), 10);
    out.put(' ');
    out.right(field.rate(i.tcpi_pacing_rate), 10);
    out.put(' ');
    out.left(r.has_skmem ? field.pair(r.skmem[SK_MEMINFO_RMEM_ALLOC], r.skmem[SK_MEMINFO_RCVBUF])
                         : std::string_view("-"),
             17);
    out.put(' ');
    out.left(r.has_skmem ? field.pair(r.skmem[SK_MEMINFO_WMEM_QUEUED], r.skmem[SK_MEMINFO_SNDBUF])
                         : std::string_view("-"),
             17);
    out.put(' ');
    if (c.owners.empty()) {
      out.put('-');
    } else {
      for (size_t k = 0; k < c.owners.size(); ++k) {
        if (k) out.put(',');
        out.put(c.owners[k].comm);
        out.put('/');
        out.number(c.owners[k].pid);
      }
    }
    out.put('\n');
  }
  return std::move(out.text);
}

std::string format_conns_json(const std::vector<ConnView>& conns,
                              const std::vector<std::vector<std::string>>& explanations,
                              const std::optional<SystemRatios>& system) {
  RowWriter out;
  out.text.reserve(64 + conns.size() * 1100);
  out.put('{');
  if (system) {
    // Doubles as an ostream prints them (%g, 6 digits): once per document.
    std::ostringstream head;
    head << "\"system\":{\"span\":" << json_string(system->span);
    auto ratio = [&head](const char* name, const std::optional<double>& v) {
      head << ",\"" << name << "\":";
      if (v) {
        head << *v;
      } else {
        head << "null";
      }
    };
    ratio("retransmission_ratio", system->retransmission);
    ratio("tlp_share", system->tlp_share);
    ratio("fast_retransmit_share", system->fast_share);
    ratio("rto_share", system->rto_share);
    head << "},";
    out.put(head.str());
  }
  out.put("\"connections\":[");
  Field field;
  for (size_t n = 0; n < conns.size(); ++n) {
    const ConnView& c = conns[n];
    const TcpSocketRecord& r = c.record;
    const tcp_info& i = r.info;
    if (n) out.put(',');
    out.put("{\"state\":");
    out.json(tcp_state_name(r.state));
    out.put(",\"local_ip\":");
    out.json(field.ip(r.family, r.local_addr));
    out.key_number(",\"local_port\":", r.local_port);
    out.put(",\"remote_ip\":");
    out.json(field.ip(r.family, r.remote_addr));
    out.key_number(",\"remote_port\":", r.remote_port);
    out.put(c.server ? ",\"role\":\"server\"" : ",\"role\":\"client\"");
    out.key_number(",\"cookie\":", r.cookie);
    out.key_number(",\"inode\":", r.inode);
    out.key_number(",\"uid\":", r.uid);
    out.key_number(",\"recv_q\":", r.rqueue);
    out.key_number(",\"send_q\":", r.wqueue);
    if (r.has_info) {
      out.key_number(",\"tcp_info\":{\"rtt_us\":", i.tcpi_rtt);
      out.key_number(",\"rttvar_us\":", i.tcpi_rttvar);
      out.key_number(",\"min_rtt_us\":", i.tcpi_min_rtt);
      out.key_number(",\"rto_us\":", i.tcpi_rto);
      out.key_number(",\"retrans\":", i.tcpi_retrans);
      out.key_number(",\"total_retrans\":", i.tcpi_total_retrans);
      out.key_number(",\"retransmits\":", static_cast<unsigned>(i.tcpi_retransmits));
      out.key_number(",\"backoff\":", static_cast<unsigned>(i.tcpi_backoff));
      out.key_number(",\"lost\":", i.tcpi_lost);
      out.key_number(",\"snd_cwnd\":", i.tcpi_snd_cwnd);
      out.key_number(",\"snd_ssthresh\":", i.tcpi_snd_ssthresh);
      out.key_number(",\"unacked\":", i.tcpi_unacked);
      out.key_number(",\"sacked\":", i.tcpi_sacked);
      out.key_number(",\"snd_mss\":", i.tcpi_snd_mss);
      out.key_number(",\"rcv_mss\":", i.tcpi_rcv_mss);
      out.key_number(",\"bytes_acked\":", i.tcpi_bytes_acked);
      out.key_number(",\"bytes_received\":", i.tcpi_bytes_received);
      out.key_number(",\"bytes_sent\":", i.tcpi_bytes_sent);
      out.key_number(",\"bytes_retrans\":", i.tcpi_bytes_retrans);
      out.key_number(",\"segs_out\":", i.tcpi_segs_out);
      out.key_number(",\"segs_in\":", i.tcpi_segs_in);
      out.key_number(",\"delivery_rate\":", i.tcpi_delivery_rate);
      out.key_number(",\"pacing_rate\":", i.tcpi_pacing_rate);
      out.key_number(",\"busy_time_us\":", i.tcpi_busy_time);
      out.key_number(",\"rwnd_limited_us\":", i.tcpi_rwnd_limited);
      out.key_number(",\"sndbuf_limited_us\":", i.tcpi_sndbuf_limited);
      out.key_number(",\"snd_wnd\":", i.tcpi_snd_wnd);
      out.key_number(",\"rcv_space\":", i.tcpi_rcv_space);
      out.key_number(",\"reordering\":", i.tcpi_reordering);
      out.key_number(",\"dsack_dups\":", i.tcpi_dsack_dups);
      out.key_number(",\"notsent_bytes\":", i.tcpi_notsent_bytes);
      out.key_number(",\"ca_state\":", static_cast<unsigned>(i.tcpi_ca_state));
      out.put('}');
    }
    if (!r.congestion.empty()) {
      out.put(",\"congestion\":");
      out.json(r.congestion);
    }
    if (r.has_skmem) {
      static constexpr std::string_view kKeys[] = {
          "{\"rmem_alloc\":", ",\"rcvbuf\":",    ",\"wmem_alloc\":",
          ",\"sndbuf\":",     ",\"fwd_alloc\":", ",\"wmem_queued\":",
          ",\"optmem\":",     ",\"backlog\":",   ",\"drops\":"};
      out.put(",\"skmem\":");
      for (size_t k = 0; k < r.skmem.size(); ++k) out.key_number(kKeys[k], r.skmem[k]);
      out.put('}');
    }
    out.put(",\"processes\":[");
    for (size_t k = 0; k < c.owners.size(); ++k) {
      out.key_number(k ? ",{\"pid\":" : "{\"pid\":", c.owners[k].pid);
      out.put(",\"comm\":");
      out.json(c.owners[k].comm);
      out.put('}');
    }
    out.put(']');
    if (c.retrans_delta) {
      out.key_number(",\"delta\":{\"total_retrans\":", *c.retrans_delta);
      out.key_number(",\"bytes_acked\":", c.sent_delta.value_or(0));
      out.key_number(",\"bytes_received\":", c.received_delta.value_or(0));
      out.put('}');
    }
    if (n < explanations.size()) {
      out.put(",\"explain\":[");
      for (size_t k = 0; k < explanations[n].size(); ++k) {
        if (k) out.put(',');
        out.json(explanations[n][k]);
      }
      out.put(']');
    }
    out.put('}');
  }
  out.put("]}\n");
  return std::move(out.text);
}

}  // namespace netobs
