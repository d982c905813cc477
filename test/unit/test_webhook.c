/*
 * test_webhook.c — the worker's job callbacks (worker/src/webhook.c) without a network: the
 * class of every kind of destination address (IPv4, IPv6, IPv4 inside IPv6), which classes
 * a callback may connect to with and without --webhook-allow-private, and the signature
 * (HMAC-SHA256 over "<timestamp>.<body>", checked against values from `openssl dgst -hmac`).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <cmocka.h>

#include "webhook.h"

/* The class of a textual address (IPv4 or IPv6). */
static enum zx_addr_class
cls(const char *text)
{
	struct sockaddr_in in;
	struct sockaddr_in6 in6;

	memset(&in, 0, sizeof(in));
	memset(&in6, 0, sizeof(in6));
	if (inet_pton(AF_INET, text, &in.sin_addr) == 1) {
		in.sin_family = AF_INET;
		return zx_addr_classify((const struct sockaddr *)&in);
	}
	if (inet_pton(AF_INET6, text, &in6.sin6_addr) == 1) {
		in6.sin6_family = AF_INET6;
		return zx_addr_classify((const struct sockaddr *)&in6);
	}
	fail_msg("not an address: %s", text);
	return ZX_ADDR_PUBLIC;
}

struct want {
	const char *addr;
	enum zx_addr_class cls;
};

static void
check_all(const struct want *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (cls(w[i].addr) != w[i].cls)
			fail_msg("%s: got %s, want %s", w[i].addr, zx_addr_class_name(cls(w[i].addr)),
			    zx_addr_class_name(w[i].cls));
}

static void
test_ipv4(void **state)
{
	static const struct want w[] = {
		{"127.0.0.1", ZX_ADDR_LOOPBACK}, {"127.255.255.254", ZX_ADDR_LOOPBACK},
		{"10.0.0.1", ZX_ADDR_PRIVATE}, {"10.255.255.255", ZX_ADDR_PRIVATE},
		{"172.16.0.1", ZX_ADDR_PRIVATE}, {"172.31.255.255", ZX_ADDR_PRIVATE},
		{"172.15.255.255", ZX_ADDR_PUBLIC}, {"172.32.0.0", ZX_ADDR_PUBLIC},
		{"192.168.1.1", ZX_ADDR_PRIVATE}, {"192.169.0.1", ZX_ADDR_PUBLIC},
		{"100.64.0.1", ZX_ADDR_PRIVATE}, {"100.127.255.255", ZX_ADDR_PRIVATE},
		{"100.128.0.0", ZX_ADDR_PUBLIC}, {"198.18.0.1", ZX_ADDR_PRIVATE},
		{"198.20.0.1", ZX_ADDR_PUBLIC},
		{"169.254.169.254", ZX_ADDR_LINK_LOCAL}, {"169.254.0.1", ZX_ADDR_LINK_LOCAL},
		{"169.253.255.255", ZX_ADDR_PUBLIC},
		{"0.0.0.0", ZX_ADDR_UNSPECIFIED}, {"0.1.2.3", ZX_ADDR_UNSPECIFIED},
		{"224.0.0.1", ZX_ADDR_MULTICAST}, {"239.255.255.250", ZX_ADDR_MULTICAST},
		{"240.0.0.1", ZX_ADDR_RESERVED}, {"255.255.255.255", ZX_ADDR_RESERVED},
		{"192.0.0.170", ZX_ADDR_RESERVED},
		{"8.8.8.8", ZX_ADDR_PUBLIC}, {"1.1.1.1", ZX_ADDR_PUBLIC},
		{"93.184.216.34", ZX_ADDR_PUBLIC}, {"223.255.255.255", ZX_ADDR_PUBLIC},
	};

	(void)state;
	check_all(w, sizeof(w) / sizeof(w[0]));
}

static void
test_ipv6(void **state)
{
	static const struct want w[] = {
		{"::1", ZX_ADDR_LOOPBACK}, {"::", ZX_ADDR_UNSPECIFIED},
		{"fc00::1", ZX_ADDR_PRIVATE}, {"fd12:3456:789a::1", ZX_ADDR_PRIVATE},
		{"fe80::1", ZX_ADDR_LINK_LOCAL}, {"febf::1", ZX_ADDR_LINK_LOCAL},
		{"fec0::1", ZX_ADDR_PRIVATE},
		{"ff02::1", ZX_ADDR_MULTICAST}, {"ff05::1:3", ZX_ADDR_MULTICAST},
		{"2001:4860:4860::8888", ZX_ADDR_PUBLIC}, {"2606:4700::1111", ZX_ADDR_PUBLIC},
		/* IPv4 inside IPv6: the IPv4 address decides */
		{"::ffff:127.0.0.1", ZX_ADDR_LOOPBACK}, {"::ffff:169.254.169.254", ZX_ADDR_LINK_LOCAL},
		{"::ffff:10.1.2.3", ZX_ADDR_PRIVATE}, {"::ffff:8.8.8.8", ZX_ADDR_PUBLIC},
		{"::ffff:0.0.0.0", ZX_ADDR_UNSPECIFIED}, {"::127.0.0.1", ZX_ADDR_LOOPBACK},
		{"64:ff9b::a9fe:a9fe", ZX_ADDR_LINK_LOCAL}, {"64:ff9b::8.8.8.8", ZX_ADDR_PUBLIC},
		{"2002:7f00:1::1", ZX_ADDR_LOOPBACK}, {"2002:0808:0808::1", ZX_ADDR_PUBLIC},
		{"::2:0:0:1", ZX_ADDR_RESERVED},
	};

	(void)state;
	check_all(w, sizeof(w) / sizeof(w[0]));
}

static void
test_other_families(void **state)
{
	struct sockaddr_un un;

	(void)state;
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	assert_int_equal(zx_addr_classify((const struct sockaddr *)&un), ZX_ADDR_RESERVED);
	assert_int_equal(zx_addr_classify(NULL), ZX_ADDR_RESERVED);
}

static void
test_allowed(void **state)
{
	(void)state;
	assert_true(zx_addr_allowed(ZX_ADDR_PUBLIC, 0));
	assert_true(zx_addr_allowed(ZX_ADDR_PUBLIC, 1));
	assert_false(zx_addr_allowed(ZX_ADDR_LOOPBACK, 0));
	assert_true(zx_addr_allowed(ZX_ADDR_LOOPBACK, 1));
	assert_false(zx_addr_allowed(ZX_ADDR_PRIVATE, 0));
	assert_true(zx_addr_allowed(ZX_ADDR_PRIVATE, 1));
	/* never, whatever the setting: cloud metadata, "any", broadcast */
	for (int allow = 0; allow <= 1; allow++) {
		assert_false(zx_addr_allowed(ZX_ADDR_LINK_LOCAL, allow));
		assert_false(zx_addr_allowed(ZX_ADDR_UNSPECIFIED, allow));
		assert_false(zx_addr_allowed(ZX_ADDR_MULTICAST, allow));
		assert_false(zx_addr_allowed(ZX_ADDR_RESERVED, allow));
	}
	assert_string_equal(zx_addr_class_name(ZX_ADDR_LINK_LOCAL), "link-local");
	assert_string_equal(zx_addr_class_name(ZX_ADDR_LOOPBACK), "loopback");
}

/* Expected values: printf '%s' '<ts>.<body>' | openssl dgst -sha256 -hmac '<secret>' */
static void
test_sign(void **state)
{
	const char *body = "{\"event\":\"job.completed\",\"job_id\":\"j1\"}";
	char hex[65];

	(void)state;
	assert_int_equal(zx_webhook_sign("whsec_test", 1700000000LL, body, hex), 0);
	assert_string_equal(hex, "3a1304cbfa5270ffc0f8e72192b25d803293dc6312d34e40e8b9feea0b574c03");
	assert_int_equal(zx_webhook_sign("whsec_tesT", 1700000000LL, body, hex), 0);
	assert_string_equal(hex, "b384e747d7f8ad40499199e8dcbfb0868eb46c599f38bc38c848d7e9777de81e");
	assert_int_equal(zx_webhook_sign("k", 0, "", hex), 0);
	assert_string_equal(hex, "6b4a4b8b3c40f1e8f53a3d36682e5f99f7ad2ac1df1c93dfe336f329167641e7");
	/* another timestamp, another signature: a replayed body with a new time does not verify */
	assert_int_equal(zx_webhook_sign("whsec_test", 1700000001LL, body, hex), 0);
	assert_string_not_equal(hex, "3a1304cbfa5270ffc0f8e72192b25d803293dc6312d34e40e8b9feea0b574c03");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_other_families),
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_sign),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
