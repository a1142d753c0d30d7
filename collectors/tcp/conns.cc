#include "collectors/tcp/conns.h"

#include <linux/sock_diag.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

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

// Bytes per second as bits per second with a unit: "12.3Mbps".
std::string rate(uint64_t bytes_per_second) {
  double bits = static_cast<double>(bytes_per_second) * 8;
  const char* units[] = {"bps", "Kbps", "Mbps", "Gbps", "Tbps"};
  size_t unit = 0;
  while (bits >= 1000 && unit + 1 < std::size(units)) {
    bits /= 1000;
    ++unit;
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, unit == 0 ? "%.0f%s" : "%.1f%s", bits, units[unit]);
  return buffer;
}

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
      out += buffer;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string owners_text(const std::vector<SocketOwner>& owners) {
  std::string out;
  for (const SocketOwner& o : owners) {
    if (!out.empty()) out += ",";
    out += o.comm + "/" + std::to_string(o.pid);
  }
  return out.empty() ? "-" : out;
}

uint64_t bytes_total(const TcpSocketRecord& r) {
  return r.info.tcpi_bytes_acked + r.info.tcpi_bytes_received;
}

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
  std::ostringstream out;
  char line[512];
  std::snprintf(line, sizeof line,
                "%-11s %-23s %-23s %-6s %9s %8s %8s %9s%s %5s %6s %7s %7s %12s %12s %10s %10s "
                "%-17s %-17s %s\n",
                "STATE", "LOCAL", "REMOTE", "ROLE", "RTT_MS", "VAR_MS", "MIN_MS", "RETRANS",
                with_deltas ? "   +RETR" : "", "LOST", "CWND", "SSTHR", "UNACKED", "BYTES_ACKED",
                "BYTES_RECV", "DELIVERY", "PACING", "RMEM/RCVBUF", "WMEM/SNDBUF", "PROCESS");
  out << line;
  for (const ConnView& c : conns) {
    const TcpSocketRecord& r = c.record;
    const tcp_info& i = r.info;
    const std::string retrans =
        std::to_string(i.tcpi_retrans) + "/" + std::to_string(i.tcpi_total_retrans);
    std::string delta;
    if (with_deltas) {
      char d[32];
      std::snprintf(d, sizeof d, " %8s",
                    c.retrans_delta ? ("+" + std::to_string(*c.retrans_delta)).c_str() : "-");
      delta = d;
    }
    const std::string rmem = r.has_skmem ? std::to_string(r.skmem[SK_MEMINFO_RMEM_ALLOC]) + "/" +
                                               std::to_string(r.skmem[SK_MEMINFO_RCVBUF])
                                         : "-";
    const std::string wmem = r.has_skmem ? std::to_string(r.skmem[SK_MEMINFO_WMEM_QUEUED]) + "/" +
                                               std::to_string(r.skmem[SK_MEMINFO_SNDBUF])
                                         : "-";
    std::snprintf(
        line, sizeof line,
        "%-11s %-23s %-23s %-6s %9s %8s %8s %9s%s %5u %6u %7u %7u %12llu %12llu %10s "
        "%10s %-17s %-17s %s\n",
        std::string(tcp_state_name(r.state)).c_str(), endpoint(r.local_ip(), r.local_port).c_str(),
        endpoint(r.remote_ip(), r.remote_port).c_str(), c.server ? "server" : "client",
        millis(i.tcpi_rtt).c_str(), millis(i.tcpi_rttvar).c_str(), millis(i.tcpi_min_rtt).c_str(),
        retrans.c_str(), delta.c_str(), i.tcpi_lost, i.tcpi_snd_cwnd, i.tcpi_snd_ssthresh,
        i.tcpi_unacked, static_cast<unsigned long long>(i.tcpi_bytes_acked),
        static_cast<unsigned long long>(i.tcpi_bytes_received), rate(i.tcpi_delivery_rate).c_str(),
        rate(i.tcpi_pacing_rate).c_str(), rmem.c_str(), wmem.c_str(),
        owners_text(c.owners).c_str());
    out << line;
  }
  return out.str();
}

std::string format_conns_json(const std::vector<ConnView>& conns,
                              const std::vector<std::vector<std::string>>& explanations,
                              const std::optional<SystemRatios>& system) {
  std::ostringstream out;
  out << "{";
  if (system) {
    out << "\"system\":{\"span\":" << json_string(system->span);
    auto field = [&out](const char* name, const std::optional<double>& v) {
      out << ",\"" << name << "\":";
      if (v) {
        out << *v;
      } else {
        out << "null";
      }
    };
    field("retransmission_ratio", system->retransmission);
    field("tlp_share", system->tlp_share);
    field("fast_retransmit_share", system->fast_share);
    field("rto_share", system->rto_share);
    out << "},";
  }
  out << "\"connections\":[";
  for (size_t n = 0; n < conns.size(); ++n) {
    const ConnView& c = conns[n];
    const TcpSocketRecord& r = c.record;
    const tcp_info& i = r.info;
    out << (n ? "," : "") << "{";
    out << "\"state\":" << json_string(std::string(tcp_state_name(r.state)))
        << ",\"local_ip\":" << json_string(r.local_ip()) << ",\"local_port\":" << r.local_port
        << ",\"remote_ip\":" << json_string(r.remote_ip()) << ",\"remote_port\":" << r.remote_port
        << ",\"role\":" << (c.server ? "\"server\"" : "\"client\"") << ",\"cookie\":" << r.cookie
        << ",\"inode\":" << r.inode << ",\"uid\":" << r.uid << ",\"recv_q\":" << r.rqueue
        << ",\"send_q\":" << r.wqueue;
    if (r.has_info) {
      out << ",\"tcp_info\":{"
          << "\"rtt_us\":" << i.tcpi_rtt << ",\"rttvar_us\":" << i.tcpi_rttvar
          << ",\"min_rtt_us\":" << i.tcpi_min_rtt << ",\"rto_us\":" << i.tcpi_rto
          << ",\"retrans\":" << i.tcpi_retrans << ",\"total_retrans\":" << i.tcpi_total_retrans
          << ",\"retransmits\":" << static_cast<unsigned>(i.tcpi_retransmits)
          << ",\"backoff\":" << static_cast<unsigned>(i.tcpi_backoff) << ",\"lost\":" << i.tcpi_lost
          << ",\"snd_cwnd\":" << i.tcpi_snd_cwnd << ",\"snd_ssthresh\":" << i.tcpi_snd_ssthresh
          << ",\"unacked\":" << i.tcpi_unacked << ",\"sacked\":" << i.tcpi_sacked
          << ",\"snd_mss\":" << i.tcpi_snd_mss << ",\"rcv_mss\":" << i.tcpi_rcv_mss
          << ",\"bytes_acked\":" << i.tcpi_bytes_acked
          << ",\"bytes_received\":" << i.tcpi_bytes_received
          << ",\"bytes_sent\":" << i.tcpi_bytes_sent
          << ",\"bytes_retrans\":" << i.tcpi_bytes_retrans << ",\"segs_out\":" << i.tcpi_segs_out
          << ",\"segs_in\":" << i.tcpi_segs_in << ",\"delivery_rate\":" << i.tcpi_delivery_rate
          << ",\"pacing_rate\":" << i.tcpi_pacing_rate << ",\"busy_time_us\":" << i.tcpi_busy_time
          << ",\"rwnd_limited_us\":" << i.tcpi_rwnd_limited
          << ",\"sndbuf_limited_us\":" << i.tcpi_sndbuf_limited << ",\"snd_wnd\":" << i.tcpi_snd_wnd
          << ",\"rcv_space\":" << i.tcpi_rcv_space << ",\"reordering\":" << i.tcpi_reordering
          << ",\"dsack_dups\":" << i.tcpi_dsack_dups
          << ",\"notsent_bytes\":" << i.tcpi_notsent_bytes
          << ",\"ca_state\":" << static_cast<unsigned>(i.tcpi_ca_state) << "}";
    }
    if (!r.congestion.empty()) out << ",\"congestion\":" << json_string(r.congestion);
    if (r.has_skmem) {
      static const char* kNames[] = {"rmem_alloc",  "rcvbuf", "wmem_alloc", "sndbuf", "fwd_alloc",
                                     "wmem_queued", "optmem", "backlog",    "drops"};
      out << ",\"skmem\":{";
      for (size_t k = 0; k < r.skmem.size(); ++k) {
        out << (k ? "," : "") << "\"" << kNames[k] << "\":" << r.skmem[k];
      }
      out << "}";
    }
    out << ",\"processes\":[";
    for (size_t k = 0; k < c.owners.size(); ++k) {
      out << (k ? "," : "") << "{\"pid\":" << c.owners[k].pid
          << ",\"comm\":" << json_string(c.owners[k].comm) << "}";
    }
    out << "]";
    if (c.retrans_delta) {
      out << ",\"delta\":{\"total_retrans\":" << *c.retrans_delta
          << ",\"bytes_acked\":" << c.sent_delta.value_or(0)
          << ",\"bytes_received\":" << c.received_delta.value_or(0) << "}";
    }
    if (n < explanations.size()) {
      out << ",\"explain\":[";
      for (size_t k = 0; k < explanations[n].size(); ++k) {
        out << (k ? "," : "") << json_string(explanations[n][k]);
      }
      out << "]";
    }
    out << "}";
  }
  out << "]}\n";
  return out.str();
}

}  // namespace netobs
