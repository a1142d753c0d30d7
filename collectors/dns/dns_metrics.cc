#include "collectors/dns/dns_metrics.h"

#include <tuple>

#include "collectors/dns/dns_protocol.h"
#include "exporter/attribution/attribution.h"
#include "exporter/metric_builder.h"

namespace netobs {
namespace {

using prometheus::MetricType;

constexpr uint64_t kLatencyBoundsNs[DNS_LATENCY_BOUNDS] = DNS_LATENCY_BOUNDS_NS;

std::vector<double> latency_bounds_seconds() {
  std::vector<double> bounds;
  for (uint64_t ns : kLatencyBoundsNs) bounds.push_back(static_cast<double>(ns) / 1e9);
  return bounds;
}

double counter_sum(const DnsSnapshot& s, uint32_t index) {
  return index < s.counters.size() ? static_cast<double>(s.counters[index]) : 0;
}

// Seeded so the common series (and every error counter) exist from the
// first scrape with 0.
constexpr uint16_t kSeededQtypes[] = {1, 28};  // A, AAAA

}  // namespace

std::string dns_transport_name(uint8_t transport) {
  return transport == DNS_TRANSPORT_TCP ? "tcp" : "udp";
}

std::string dns_malformed_reason_name(uint32_t reason) {
  switch (reason) {
    case DNS_MALFORMED_SHORT_HEADER:
      return "short_header";
    case DNS_MALFORMED_TCP_LENGTH:
      return "tcp_length";
    case DNS_MALFORMED_NO_QUESTION:
      return "no_question";
    case DNS_MALFORMED_BAD_NAME:
      return "bad_name";
    case DNS_MALFORMED_TRUNCATED:
      return "truncated";
    default:
      return "unknown";
  }
}

void append_dns_metrics(const DnsSnapshot& s, std::vector<prometheus::MetricFamily>& out) {
  // Aggregate by label set (distinct numbers always have distinct names, but
  // keep the exposition free of duplicates whatever the map holds).
  using QueryKey = std::pair<std::string, std::string>;                   // transport, qtype
  using ResponseKey = std::tuple<std::string, std::string, std::string>;  // + rcode
  struct Latency {
    uint64_t count = 0;
    uint64_t sum_ns = 0;
    std::vector<uint64_t> buckets = std::vector<uint64_t>(DNS_LATENCY_BUCKETS, 0);
  };
  std::map<QueryKey, uint64_t> queries;
  std::map<QueryKey, uint64_t> unanswered;
  std::map<ResponseKey, Latency> responses;
  for (uint8_t transport : {uint8_t{DNS_TRANSPORT_UDP}, uint8_t{DNS_TRANSPORT_TCP}}) {
    for (uint16_t qtype : kSeededQtypes) {
      queries[{dns_transport_name(transport), dns::qtype_name(qtype)}] += 0;
      unanswered[{dns_transport_name(transport), dns::qtype_name(qtype)}] += 0;
    }
  }
  for (const DnsStatsEntry& e : s.stats) {
    const std::string transport = dns_transport_name(e.transport);
    const std::string qtype = dns::qtype_name(e.qtype);
    if (e.kind == DNS_STAT_QUERY) {
      queries[{transport, qtype}] += e.count;
    } else {
      Latency& l = responses[{transport, qtype, dns::rcode_name(e.rcode)}];
      l.count += e.count;
      l.sum_ns += e.sum_ns;
      for (size_t i = 0; i < DNS_LATENCY_BUCKETS; ++i) l.buckets[i] += e.buckets[i];
    }
  }
  for (const auto& [key, value] : s.unanswered) {
    unanswered[{dns_transport_name(key.first), dns::qtype_name(key.second)}] += value;
  }

  FamilyBuilder query_family("netobs_dns_queries_total",
                             "DNS queries seen (a retransmission of an outstanding query counts "
                             "once), by transport and query type.",
                             MetricType::Counter);
  for (const auto& [key, value] : queries) {
    query_family.counter({{"transport", key.first}, {"qtype", key.second}},
                         static_cast<double>(value));
  }
  query_family.append_to(out);

  FamilyBuilder response_family(
      "netobs_dns_responses_total",
      "DNS responses matched to their query, by transport, query type and response code.",
      MetricType::Counter);
  FamilyBuilder latency_family("netobs_dns_request_duration_seconds",
                               "Time from a DNS query to its response, measured in the kernel "
                               "where the packets pass the host's network stack.",
                               MetricType::Histogram);
  const std::vector<double> bounds = latency_bounds_seconds();
  for (const auto& [key, l] : responses) {
    const Labels labels{
        {"transport", std::get<0>(key)}, {"qtype", std::get<1>(key)}, {"rcode", std::get<2>(key)}};
    response_family.counter(labels, static_cast<double>(l.count));
    latency_family.histogram(labels, bounds, l.buckets, static_cast<double>(l.sum_ns) / 1e9);
  }
  response_family.append_to(out);
  latency_family.append_to(out);

  FamilyBuilder unanswered_family(
      "netobs_dns_unanswered_total",
      "DNS queries without a response within collectors.dns.timeout, by transport and query type.",
      MetricType::Counter);
  for (const auto& [key, value] : unanswered) {
    unanswered_family.counter({{"transport", key.first}, {"qtype", key.second}},
                              static_cast<double>(value));
  }
  unanswered_family.append_to(out);

  FamilyBuilder truncated("netobs_dns_truncated_responses_total",
                          "DNS responses with the TC (truncated) bit set, by transport.",
                          MetricType::Counter);
  FamilyBuilder unmatched("netobs_dns_unmatched_responses_total",
                          "DNS responses without an outstanding query: answered after the "
                          "timeout, evicted, or sent before netobs started.",
                          MetricType::Counter);
  FamilyBuilder retransmitted("netobs_dns_retransmitted_queries_total",
                              "DNS queries repeated (same client, server and ID) while the first "
                              "was still outstanding; not counted again as queries.",
                              MetricType::Counter);
  FamilyBuilder malformed("netobs_dns_malformed_packets_total",
                          "Packets on a DNS port that are not a readable DNS message, by "
                          "transport and reason.",
                          MetricType::Counter);
  for (uint8_t t : {uint8_t{DNS_TRANSPORT_UDP}, uint8_t{DNS_TRANSPORT_TCP}}) {
    const std::string transport = dns_transport_name(t);
    truncated.counter({{"transport", transport}}, counter_sum(s, DNS_C_TRUNCATED + t));
    unmatched.counter({{"transport", transport}}, counter_sum(s, DNS_C_UNMATCHED_RESPONSES + t));
    retransmitted.counter({{"transport", transport}},
                          counter_sum(s, DNS_C_RETRANSMITTED_QUERIES + t));
    for (uint32_t reason = 0; reason < DNS_MALFORMED_REASONS; ++reason) {
      malformed.counter({{"transport", transport}, {"reason", dns_malformed_reason_name(reason)}},
                        counter_sum(s, DNS_C_MALFORMED + reason * DNS_TRANSPORTS + t));
    }
  }
  truncated.append_to(out);
  unmatched.append_to(out);
  retransmitted.append_to(out);
  malformed.append_to(out);

  FamilyBuilder("netobs_dns_correlation_evictions_total",
                "Outstanding queries pushed out of the full correlation map before their "
                "response or timeout (raise collectors.dns.max_outstanding_queries).",
                MetricType::Counter)
      .counter({}, static_cast<double>(s.evictions))
      .append_to(out);
  FamilyBuilder("netobs_dns_correlation_insert_errors_total",
                "Queries that could not be added to the correlation map (counted as queries, "
                "never answered or unanswered).",
                MetricType::Counter)
      .counter({}, counter_sum(s, DNS_C_CORR_INSERT_ERRORS))
      .append_to(out);
  FamilyBuilder("netobs_dns_filtered_messages_total",
                "DNS queries and responses left out by network.include_cidrs/exclude_cidrs "
                "(server address) or include_ports/exclude_ports; counted nowhere else.",
                MetricType::Counter)
      .counter({}, counter_sum(s, DNS_C_FILTERED))
      .append_to(out);
  FamilyBuilder("netobs_dns_outstanding_queries",
                "Queries waiting for their response at the last timeout sweep.", MetricType::Gauge)
      .gauge({}, static_cast<double>(s.outstanding))
      .append_to(out);
  FamilyBuilder("netobs_dns_stats_update_errors_total",
                "DNS counts dropped because the in-kernel statistics map was full (too many "
                "distinct query types and response codes).",
                MetricType::Counter)
      .counter({}, counter_sum(s, DNS_C_STATS_UPDATE_ERRORS))
      .append_to(out);

  FamilyBuilder dropped("netobs_series_dropped_total",
                        "Observations folded into an `other` series because a label's "
                        "cardinality cap was reached.",
                        MetricType::Counter);
  if (s.server_labels) {
    FamilyBuilder server_queries("netobs_dns_server_queries_total",
                                 "DNS queries by server address (collectors.dns.server_labels; "
                                 "beyond max_servers as server=\"other\").",
                                 MetricType::Counter);
    FamilyBuilder server_responses("netobs_dns_server_responses_total",
                                   "DNS responses matched to their query, by server address.",
                                   MetricType::Counter);
    FamilyBuilder server_unanswered("netobs_dns_server_unanswered_total",
                                    "DNS queries without a response within the timeout, by "
                                    "server address.",
                                    MetricType::Counter);
    for (const auto& [server, c] : s.servers) {
      server_queries.counter({{"server", server}}, static_cast<double>(c.queries));
      server_responses.counter({{"server", server}}, static_cast<double>(c.responses));
      server_unanswered.counter({{"server", server}}, static_cast<double>(c.unanswered));
    }
    server_queries.append_to(out);
    server_responses.append_to(out);
    server_unanswered.append_to(out);
    dropped.counter({{"collector", "dns"}, {"metric", "netobs_dns_server_queries_total"}},
                    static_cast<double>(s.servers_folded));
  }
  if (s.domains_enabled) {
    FamilyBuilder domains("netobs_dns_sampled_queries_total",
                          "Sampled DNS queries (1 in netobs_dns_query_sample_rate) by queried "
                          "name; names beyond collectors.dns.top_domains as domain=\"other\".",
                          MetricType::Counter);
    for (const auto& [domain, value] : s.domains) {
      domains.counter({{"domain", domain}}, static_cast<double>(value));
    }
    domains.append_to(out);
    FamilyBuilder("netobs_dns_query_sample_rate",
                  "N of the 1-in-N query sampling behind netobs_dns_sampled_queries_total.",
                  MetricType::Gauge)
        .gauge({}, static_cast<double>(s.domain_sample_rate))
        .append_to(out);
    FamilyBuilder("netobs_dns_sample_decode_errors_total",
                  "Sampled queries whose name could not be decoded.", MetricType::Counter)
        .counter({}, static_cast<double>(s.samples_undecodable))
        .append_to(out);
    dropped.counter({{"collector", "dns"}, {"metric", "netobs_dns_sampled_queries_total"}},
                    static_cast<double>(s.domains_folded));
  }
  if (s.attribution) {
    FamilyBuilder responses("netobs_dns_cgroup_responses_total",
                            "DNS responses matched to their query, by the cgroup of the process "
                            "that sent the query and the response code.",
                            MetricType::Counter);
    FamilyBuilder latency("netobs_dns_cgroup_request_duration_seconds",
                          "Time from a DNS query to its response, by the cgroup of the process "
                          "that sent the query and the response code.",
                          MetricType::Histogram);
    const std::vector<std::string>& names = CgroupLabels::names();
    const std::vector<double> bounds = latency_bounds_seconds();
    for (const auto& [key, e] : s.by_cgroup) {
      Labels labels{{"rcode", dns::rcode_name(key.second)}};
      for (size_t i = 0; i < names.size() && i < key.first.size(); ++i) {
        labels[names[i]] = key.first[i];
      }
      responses.counter(labels, static_cast<double>(e.count));
      latency.histogram(labels, bounds, {e.buckets.begin(), e.buckets.end()},
                        static_cast<double>(e.sum_ns) / 1e9);
    }
    responses.append_to(out);
    latency.append_to(out);
    dropped.counter({{"collector", "dns"}, {"metric", "cgroup"}},
                    counter_sum(s, DNS_C_CGROUP_OVERFLOW));
  }
  dropped.append_to(out);
}

}  // namespace netobs
