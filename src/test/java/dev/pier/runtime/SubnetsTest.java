package dev.pier.runtime;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Test engines' subnets are leased: two leases held at once never share a /24. */
class SubnetsTest {
    @Test
    void leases_held_at_once_differ() throws Exception {
        try (Subnets.Lease a = Subnets.lease("10.219");
                Subnets.Lease b = Subnets.lease("10.219")) {
            assertThat(a.third()).isNotEqualTo(b.third());
            assertThat(a.gateway()).matches("10\\.219\\.\\d{1,3}\\.1/24");
        }
    }
}
