// TLS in the transport layer without processes: the SNI rule, certificates from PEM, the ticket
// key ring, and a TLS connection between two StreamConnections over a socketpair.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <csignal>
#include <string>

#include "proxy/core/event_loop.h"
#include "proxy/transport/server_certificates.h"
#include "proxy/transport/stream_connection.h"
#include "proxy/transport/ticket_keys.h"
#include "proxy/transport/tls_client_context.h"
#include "proxy/transport/tls_server_context.h"
#include "tests/support/test_certificates.h"

namespace readygate {
namespace {

using testing_support::makePemCertificate;

std::shared_ptr<const ServerCertificate> certificateFor(const std::vector<std::string>& names,
                                                        bool rsa = false) {
  auto pem = makePemCertificate(names, 30, rsa);
  auto made = ServerCertificate::fromPem(pem.certificate, pem.key);
  EXPECT_EQ(made.index(), 0u) << std::get<1>(made);
  return std::get<0>(made);
}

TEST(ServerNameMatch, AWildcardIsOneWholeLabel) {
  EXPECT_TRUE(serverNameMatches("*.example.com", "shop.example.com"));
  EXPECT_FALSE(serverNameMatches("*.example.com", "a.shop.example.com"));
  EXPECT_FALSE(serverNameMatches("*.example.com", "example.com"));
  EXPECT_FALSE(serverNameMatches("*.example.com", ".example.com"));
  EXPECT_FALSE(serverNameMatches("*.example.com", "shopexample.com"));
  EXPECT_TRUE(serverNameMatches("shop.example.com", "shop.example.com"));
  EXPECT_FALSE(serverNameMatches("shop.example.com", "shop.example.co"));
}

TEST(ServerCertificates, ExactBeforeWildcardBeforeTheDefault) {
  auto fallback = certificateFor({"default.example.com"});
  auto wildcard = certificateFor({"*.apps.example.com"});
  auto exact = certificateFor({"shop.apps.example.com", "shop.example.com"});
  ServerCertificates set({fallback, wildcard, exact});
  EXPECT_EQ(set.choose("shop.apps.example.com").certificate, exact.get());
  EXPECT_EQ(set.choose("Shop.Example.COM.").certificate, exact.get()) << "case, trailing dot";
  EXPECT_EQ(set.choose("cart.apps.example.com").certificate, wildcard.get());
  auto other = set.choose("cart.example.org");
  EXPECT_EQ(other.certificate, fallback.get());
  EXPECT_FALSE(other.matched);
  EXPECT_FALSE(set.choose("").matched);
  EXPECT_TRUE(set.choose("default.example.com").matched);
  EXPECT_EQ(ServerCertificates({}).choose("x").certificate, nullptr);
}

TEST(ServerCertificates, EachClientGetsTheKindItTakesWhereBothFit) {
  auto rsaDefault = certificateFor({"default.example.com"}, true);
  auto ecdsaDefault = certificateFor({"default.example.com"});
  auto rsaShop = certificateFor({"shop.example.com"}, true);
  auto ecdsaShop = certificateFor({"shop.example.com"});
  auto rsaOnly = certificateFor({"old.example.com"}, true);
  EXPECT_EQ(rsaShop->kind, KeyKind::Rsa);
  EXPECT_EQ(ecdsaShop->kind, KeyKind::Ecdsa);
  ServerCertificates set({rsaDefault, rsaShop, ecdsaShop, rsaOnly, ecdsaDefault});
  EXPECT_EQ(set.choose("shop.example.com", true).certificate, ecdsaShop.get());
  EXPECT_EQ(set.choose("shop.example.com", false).certificate, rsaShop.get());
  EXPECT_EQ(set.choose("old.example.com", true).certificate, rsaOnly.get())
      << "an ECDSA client still gets the only certificate its name has";
  EXPECT_EQ(set.choose("nobody.example.org", true).certificate, ecdsaDefault.get())
      << "the default's ECDSA sibling (same names as the first)";
  EXPECT_EQ(set.choose("nobody.example.org", false).certificate, rsaDefault.get());
}

TEST(ServerCertificate, APairThatDoesNotMatchIsRefused) {
  auto one = makePemCertificate({"one.example.com"});
  auto two = makePemCertificate({"two.example.com"});
  auto mismatched = ServerCertificate::fromPem(one.certificate, two.key);
  ASSERT_EQ(mismatched.index(), 1u);
  EXPECT_NE(std::get<1>(mismatched).find("do not match"), std::string::npos);
  EXPECT_EQ(ServerCertificate::fromPem("garbage", one.key).index(), 1u);
  EXPECT_EQ(ServerCertificate::fromPem(one.certificate, "").index(), 1u);
  auto good = ServerCertificate::fromPem(one.certificate, one.key);
  ASSERT_EQ(good.index(), 0u);
  const ServerCertificate& certificate = *std::get<0>(good);
  EXPECT_EQ(certificate.label, "one.example.com");
  EXPECT_NEAR(static_cast<double>(certificate.notAfter), static_cast<double>(time(nullptr)) + 30 * 86400,
              120);
}

TEST(TlsClientContext, TakesItsCaAndClientCertificateAsDataToo) {
  auto ca = makePemCertificate({"api.example.com"});
  auto other = makePemCertificate({"me.example.com"});
  TlsClientOptions options;
  options.verify = true;
  options.caPem = ca.certificate;
  options.certPem = other.certificate;
  options.keyPem = other.key;
  auto made = TlsClientContext::create(options);
  EXPECT_EQ(made.index(), 0u) << std::get<1>(made);

  options.caPem = "not a certificate";
  made = TlsClientContext::create(options);
  ASSERT_EQ(made.index(), 1u);
  EXPECT_EQ(std::get<1>(made), "cannot load the CA data: no usable certificate in it");

  options.caPem = ca.certificate;
  options.keyPem = ca.key;  // not the certificate's key
  made = TlsClientContext::create(options);
  ASSERT_EQ(made.index(), 1u);
  EXPECT_NE(std::get<1>(made).find("the client certificate data"), std::string::npos)
      << std::get<1>(made);
}

TEST(TicketKeyRing, RotatesAndKeepsTheLastKeysForDecryption) {
  ManualClock clock(0);
  TicketKeyRing ring(3600, 3, &clock);
  TicketKey first = ring.current();
  EXPECT_EQ(ring.current().name, first.name) << "no rotation within the hour";
  clock.advance(3600);
  TicketKey second = ring.current();
  EXPECT_NE(second.name, first.name);
  auto found = ring.find(first.name.data());
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->second) << "an older key decrypts, but its tickets are renewed";
  EXPECT_TRUE(ring.find(second.name.data())->second);
  clock.advance(3600);
  ring.current();
  clock.advance(3600);
  ring.current();  // four keys made, three kept
  EXPECT_FALSE(ring.find(first.name.data())) << "past keep x rotation: a full handshake";
  EXPECT_TRUE(ring.find(second.name.data()));
  EXPECT_DOUBLE_EQ(ring.ticketLifetimeSeconds(), 3 * 3600);
}

/// Reports a connection's handshake and input.
struct TlsPeer : StreamConnection::Handler {
  std::string input;
  int handshake = -1;
  int closed = -1;
  void onInput(StreamConnection& connection) override {
    input.append(connection.input());
    connection.consume(connection.input().size());
  }
  void onDrained(StreamConnection&) override {}
  void onClosed(StreamConnection&, int error) override { closed = error; }
  void onHandshake(StreamConnection&, int error) override { handshake = error; }
};

class TlsConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // As the daemon does (main.cpp): OpenSSL writes with write(2), and a close_notify to a
    // peer that is gone must be an error, not the end of the process.
    std::signal(SIGPIPE, SIG_IGN);
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    // Small socket buffers: writes stop half way and OpenSSL must retry its records.
    int small = 4096;
    for (int fd : fds) {
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    }
    auto certificates = std::make_shared<const ServerCertificates>(
        std::vector<std::shared_ptr<const ServerCertificate>>{certificateFor({"a.example.com"})});
    auto made = TlsServerContext::create(TlsServerOptions{}, certificates,
                                         std::make_shared<TicketKeyRing>(3600, 3));
    ASSERT_EQ(made.index(), 0u) << std::get<1>(made);
    serverContext_ = std::get<0>(made);
    auto client = TlsClientContext::create(TlsClientOptions{});
    ASSERT_EQ(client.index(), 0u);
    clientContext_ = std::get<0>(client);

    server_ = std::make_unique<StreamConnection>(loop_.base(), pool_, fds[0]);
    server_->useTransport(std::make_unique<TlsTransport>(serverContext_->newSsl(), fds[0],
                                                         TlsTransport::Role::Server));
    server_->setHandler(&serverPeer_);
    client_ = std::make_unique<StreamConnection>(loop_.base(), pool_, fds[1]);
    auto clientTransport = std::make_unique<TlsTransport>(clientContext_->newSsl("a.example.com"),
                                                          fds[1], TlsTransport::Role::Client);
    clientTls_ = clientTransport.get();
    client_->useTransport(std::move(clientTransport));
    client_->setHandler(&clientPeer_);
  }
  template <typename Done>
  bool runUntil(Done done, int passes = 5000) {
    for (int i = 0; i < passes && !done(); ++i) {
      event_base_loop(loop_.base(), EVLOOP_ONCE | EVLOOP_NONBLOCK);
    }
    return done();
  }

  EventLoop loop_;
  BufferPool pool_{4096, 64};  // small blocks: a half-sent record spans two of them
  std::shared_ptr<TlsServerContext> serverContext_;
  std::shared_ptr<TlsClientContext> clientContext_;
  TlsPeer serverPeer_;
  TlsPeer clientPeer_;
  TlsTransport* clientTls_ = nullptr;
  std::unique_ptr<StreamConnection> server_;
  std::unique_ptr<StreamConnection> client_;
};

TEST_F(TlsConnectionTest, AMebibyteCrossesIntactThroughHalfSentRecords) {
  server_->startHandshake();
  client_->startHandshake();
  ASSERT_TRUE(runUntil([&] { return serverPeer_.handshake >= 0 && clientPeer_.handshake >= 0; }));
  ASSERT_EQ(serverPeer_.handshake, 0);
  ASSERT_EQ(clientPeer_.handshake, 0);
  EXPECT_EQ(clientTls_->version(), "TLSv1.3");
  server_->resumeReading();
  client_->resumeReading();
  std::string payload;
  for (int i = 0; payload.size() < (1u << 20); ++i) payload += std::to_string(i) + ",";
  // Pieces of uneven sizes, some small (gathered into one record) and some large.
  size_t at = 0;
  for (size_t size : {5u, 17u, 3000u, 40000u, 1u, 70000u}) {
    std::string_view parts[] = {std::string_view(payload).substr(at, size),
                                std::string_view(payload).substr(at + size, 11)};
    client_->writeParts(parts);
    at += size + 11;
  }
  client_->write(std::string_view(payload).substr(at));
  ASSERT_TRUE(runUntil([&] { return serverPeer_.input.size() >= payload.size(); }, 100000));
  EXPECT_TRUE(serverPeer_.input == payload) << "bytes lost, doubled or reordered";
  // And back, through the server's side, ended by close_notify.
  server_->write("pong");
  server_->shutdownWrite();
  ASSERT_TRUE(runUntil([&] { return clientPeer_.closed >= 0; }));
  EXPECT_EQ(clientPeer_.input, "pong");
  EXPECT_EQ(clientPeer_.closed, 0) << "close_notify ends the stream cleanly";
}

TEST_F(TlsConnectionTest, AnEndRightBehindTheLastBytesIsToldAfterThem) {
  server_->startHandshake();
  client_->startHandshake();
  ASSERT_TRUE(runUntil([&] { return serverPeer_.handshake == 0 && clientPeer_.handshake == 0; }));
  // Bytes and close_notify leave together and the socket stays open (no FIN): the server
  // (read-ahead on, as listeners have it) reads both records in one recv, so nothing but
  // OpenSSL's buffer says the stream ended.
  client_->write("last words");
  static_cast<TlsTransport*>(&client_->transport())->sayGoodbye(client_->fd());
  server_->resumeReading();
  ASSERT_TRUE(runUntil([&] { return serverPeer_.closed >= 0; }));
  EXPECT_EQ(serverPeer_.input, "last words");
  EXPECT_EQ(serverPeer_.closed, 0);
}

TEST_F(TlsConnectionTest, APlaintextClientFailsTheHandshakeWithAReason) {
  server_->startHandshake();
  int plain = client_->fd();
  ASSERT_GT(::write(plain, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27), 0);
  ASSERT_TRUE(runUntil([&] { return serverPeer_.handshake >= 0; }));
  EXPECT_EQ(serverPeer_.handshake, EPROTO);
  auto* transport = static_cast<TlsTransport*>(&server_->transport());
  EXPECT_STREQ(TlsServerContext::resultOf(*transport, EPROTO), "other");
  EXPECT_NE(transport->failure().find("http request"), std::string::npos) << transport->failure();
}

}  // namespace
}  // namespace readygate
