#include "exporter/events/ring_buffer_reader.h"

#include <cerrno>
#include <cstring>

#include "exporter/log.h"

namespace netobs {

RingBufferReader::~RingBufferReader() { stop(); }

Status RingBufferReader::start(int map_fd, std::string name, Handler handler, Idle idle,
                               int poll_timeout_ms) {
  if (ring_ != nullptr) return Status::error("ring buffer reader " + name_ + " already started");
  name_ = std::move(name);
  handler_ = std::move(handler);
  idle_ = std::move(idle);
  poll_timeout_ms_ = poll_timeout_ms;
  ring_ = ring_buffer__new(map_fd, &RingBufferReader::on_record, this, nullptr);
  if (ring_ == nullptr) {
    const int err = errno;
    return Status::error("opening ring buffer " + name_ + " failed: " + std::strerror(err));
  }
  stop_.store(false);
  thread_ = std::thread([this] { loop(); });
  return Status::ok();
}

int RingBufferReader::on_record(void* context, void* data, size_t size) {
  auto* self = static_cast<RingBufferReader*>(context);
  self->handler_(data, size);
  return 0;
}

void RingBufferReader::loop() {
  bool logged = false;
  while (!stop_.load()) {
    int n = ring_buffer__poll(ring_, poll_timeout_ms_);
    if (n < 0 && n != -EINTR && !logged) {
      log_error("ring buffer poll failed", {{"ring", name_}, {"err", std::strerror(-n)}});
      logged = true;
    }
    if (idle_) idle_();
  }
}

void RingBufferReader::drain() {
  if (ring_ != nullptr) ring_buffer__consume(ring_);
}

void RingBufferReader::stop() {
  if (thread_.joinable()) {
    stop_.store(true);
    thread_.join();
  }
  if (ring_ != nullptr) {
    ring_buffer__consume(ring_);
    if (idle_) idle_();
    ring_buffer__free(ring_);
    ring_ = nullptr;
  }
}

}  // namespace netobs
