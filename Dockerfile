# Container image of dhcp_failover_exporter: the static linux release
# binary on an empty base (no base image to pull), CA certificates for
# https Kea targets, a non-root user. Build with `make image` (podman), which
# provides .build/linux-amd64/ (make crossbuild) and the CA bundle.
FROM scratch
ARG OS=linux
ARG ARCH=amd64
LABEL org.opencontainers.image.title="dhcp_failover_exporter" \
      org.opencontainers.image.description="Prometheus exporter for DHCPv4 failover (ISC dhcpd, Kea HA, Windows DHCP)" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/dhcpfailover/dhcp_failover_exporter"
COPY .build/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY .build/${OS}-${ARCH}/dhcp_failover_exporter /bin/dhcp_failover_exporter
# A configuration with no targets (it starts anywhere); mount a real one
# over it, see the comments in examples/container.yml.
COPY examples/container.yml /etc/dhcp_failover_exporter/dhcp_failover_exporter.yml
COPY LICENSE /LICENSE
# nobody:nogroup; no /etc/passwd is needed for a numeric user.
USER 65534:65534
EXPOSE 9647
WORKDIR /etc/dhcp_failover_exporter
ENTRYPOINT ["/bin/dhcp_failover_exporter"]
CMD ["--config.file=/etc/dhcp_failover_exporter/dhcp_failover_exporter.yml"]
