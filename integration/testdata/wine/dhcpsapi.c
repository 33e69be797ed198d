/*
 * A fake dhcpsapi.dll for running the exporter's Windows build under Wine.
 *
 * The structures are declared here from Microsoft's documented types
 * (dhcpsapi.h as documented on learn.microsoft.com; MS-DHCPM 2.2.1.2.98
 * DHCP_FAILOVER_RELATIONSHIP, 2.2.1.2.99 DHCP_FAILOVER_RELATIONSHIP_ARRAY,
 * 2.2.1.2.46 DHCP_IP_ARRAY, 2.2.1.2.100 DHCP_FAILOVER_STATISTICS,
 * 2.2.1.2.8 DHCP_SUBNET_INFO, 2.2.1.2.7 DHCP_HOST_INFO), so that the C
 * compiler, not the exporter's offset arithmetic, lays them out. mingw-w64's
 * own dhcpsapi.h has no failover API.
 *
 * Every pointed-to block is allocated on its own, as the RPC client stubs
 * allocate them, and must be given back to DhcpRpcFreeMemory. The fake
 * counts the blocks outstanding and reports the count as the primary
 * server name of relationship "fo-meter" ("call-C-outstanding-N": the Cth
 * enumeration, N blocks outstanding when it was called, before its answer
 * is allocated), so that a scrape of the exporter shows whether it freed
 * every block of every earlier answer.
 *
 * Build: x86_64-w64-mingw32-gcc -shared -O2 -o dhcpsapi.dll dhcpsapi.c
 */
#include <windows.h>
#include <stdio.h>

typedef DWORD DHCP_IP_ADDRESS;
typedef DWORD DHCP_IP_MASK;
typedef DWORD DHCP_RESUME_HANDLE;

typedef enum _DHCP_FAILOVER_MODE { LoadBalance, HotStandby } DHCP_FAILOVER_MODE;
typedef enum _DHCP_FAILOVER_SERVER { PrimaryServer, SecondaryServer } DHCP_FAILOVER_SERVER;
typedef enum _FSM_STATE {
	NO_STATE = 0, INIT, STARTUP, NORMAL, COMMUNICATION_INT, PARTNER_DOWN,
	POTENTIAL_CONFLICT, CONFLICT_DONE, RESOLUTION_INT, RECOVER, RECOVER_WAIT,
	RECOVER_DONE, PAUSED, SHUTDOWN
} FSM_STATE;
typedef enum _DHCP_SUBNET_STATE { DhcpSubnetEnabled = 0, DhcpSubnetDisabled } DHCP_SUBNET_STATE;

typedef struct _DHCP_IP_ARRAY {
	DWORD NumElements;
	DHCP_IP_ADDRESS *Elements;
} DHCP_IP_ARRAY, *LPDHCP_IP_ARRAY;

typedef struct _DHCP_FAILOVER_RELATIONSHIP {
	DHCP_IP_ADDRESS PrimaryServer;
	DHCP_IP_ADDRESS SecondaryServer;
	DHCP_FAILOVER_MODE Mode;
	DHCP_FAILOVER_SERVER ServerType;
	FSM_STATE State;
	FSM_STATE PrevState;
	DWORD Mclt;
	DWORD SafePeriod;
	LPWSTR RelationshipName;
	LPWSTR PrimaryServerName;
	LPWSTR SecondaryServerName;
	LPDHCP_IP_ARRAY pScopes;
	BYTE Percentage;
	LPWSTR SharedSecret;
} DHCP_FAILOVER_RELATIONSHIP, *LPDHCP_FAILOVER_RELATIONSHIP;

typedef struct _DHCP_FAILOVER_RELATIONSHIP_ARRAY {
	DWORD NumElements;
	LPDHCP_FAILOVER_RELATIONSHIP pRelationships;
} DHCP_FAILOVER_RELATIONSHIP_ARRAY, *LPDHCP_FAILOVER_RELATIONSHIP_ARRAY;

typedef struct _DHCP_FAILOVER_STATISTICS {
	DWORD NumAddr;
	DWORD AddrFree;
	DWORD AddrInUse;
	DWORD PartnerAddrFree;
	DWORD ThisAddrFree;
	DWORD PartnerAddrInUse;
	DWORD ThisAddrInUse;
} DHCP_FAILOVER_STATISTICS, *LPDHCP_FAILOVER_STATISTICS;

typedef struct _DHCP_HOST_INFO {
	DHCP_IP_ADDRESS IpAddress;
	LPWSTR NetBiosName;
	LPWSTR HostName;
} DHCP_HOST_INFO;

typedef struct _DHCP_SUBNET_INFO {
	DHCP_IP_ADDRESS SubnetAddress;
	DHCP_IP_MASK SubnetMask;
	LPWSTR SubnetName;
	LPWSTR SubnetComment;
	DHCP_HOST_INFO PrimaryHost;
	DHCP_SUBNET_STATE SubnetState;
} DHCP_SUBNET_INFO, *LPDHCP_SUBNET_INFO;

/* The layout the exporter's decoder assumes (dhcpsapi/layout.go); a
 * mismatch fails the build of this file. */
#define CHECK(name, cond) typedef char check_##name[(cond) ? 1 : -1]
CHECK(rel_size, sizeof(DHCP_FAILOVER_RELATIONSHIP) == 80);
CHECK(rel_scopes, offsetof(DHCP_FAILOVER_RELATIONSHIP, pScopes) == 56);
CHECK(rel_secret, offsetof(DHCP_FAILOVER_RELATIONSHIP, SharedSecret) == 72);
CHECK(arr_size, sizeof(DHCP_FAILOVER_RELATIONSHIP_ARRAY) == 16);
CHECK(stats_size, sizeof(DHCP_FAILOVER_STATISTICS) == 28);
CHECK(subnet_size, sizeof(DHCP_SUBNET_INFO) == 56);
CHECK(subnet_hostname, offsetof(DHCP_SUBNET_INFO, PrimaryHost.HostName) == 40);

#define ERROR_DHCP_SUBNET_NOT_PRESENT 20005
#define ERROR_DHCP_FO_SCOPE_NOT_IN_RELATIONSHIP 20115

static LONG outstanding; /* blocks allocated and not yet freed */
static LONG calls;

static void *block(SIZE_T n)
{
	void *p = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, n);
	if (p)
		InterlockedIncrement(&outstanding);
	return p;
}

static LPWSTR wstr(const WCHAR *s)
{
	SIZE_T n = (lstrlenW(s) + 1) * sizeof(WCHAR);
	LPWSTR p = block(n);
	memcpy(p, s, n);
	return p;
}

static LPDHCP_IP_ARRAY ips(DWORD n, const DHCP_IP_ADDRESS *a)
{
	LPDHCP_IP_ARRAY arr = block(sizeof *arr);
	arr->NumElements = n;
	if (n) {
		arr->Elements = block(n * sizeof(DHCP_IP_ADDRESS));
		memcpy(arr->Elements, a, n * sizeof(DHCP_IP_ADDRESS));
	}
	return arr;
}

__declspec(dllexport) VOID WINAPI DhcpRpcFreeMemory(PVOID p)
{
	if (p && HeapFree(GetProcessHeap(), 0, p))
		InterlockedDecrement(&outstanding);
}

static const DHCP_IP_ADDRESS labScopes[] = {0xC0000200 /* 192.0.2.0 */, 0xC6336400 /* 198.51.100.0 */};

__declspec(dllexport) DWORD WINAPI DhcpV4FailoverEnumRelationship(
	LPWSTR server, DHCP_RESUME_HANDLE *resume, DWORD preferredMaximum,
	LPDHCP_FAILOVER_RELATIONSHIP_ARRAY *out, LPDWORD read, LPDWORD total)
{
	WCHAR meter[64];
	LONG n = outstanding;
	(void)server;
	(void)preferredMaximum;
	*out = NULL;
	*read = 0;
	*total = 2;
	if (*resume >= 2)
		return ERROR_NO_MORE_ITEMS;
	swprintf(meter, 64, L"call-%ld-outstanding-%ld", InterlockedIncrement(&calls), n);

	LPDHCP_FAILOVER_RELATIONSHIP_ARRAY arr = block(sizeof *arr);
	arr->NumElements = 2;
	arr->pRelationships = block(2 * sizeof(DHCP_FAILOVER_RELATIONSHIP));
	LPDHCP_FAILOVER_RELATIONSHIP r = arr->pRelationships;

	r[0].PrimaryServer = 0xC0000201;   /* 192.0.2.1: the partner */
	r[0].SecondaryServer = 0xC0000202; /* 192.0.2.2: this server */
	r[0].Mode = HotStandby;
	r[0].ServerType = SecondaryServer;
	r[0].State = COMMUNICATION_INT;
	r[0].PrevState = NORMAL;
	r[0].Mclt = 3600;
	r[0].SafePeriod = 7200;
	r[0].RelationshipName = wstr(L"fo-lab");
	r[0].PrimaryServerName = wstr(L"dhcp-a.example.net");
	r[0].SecondaryServerName = wstr(L"dhcp-b.example.net");
	r[0].pScopes = ips(2, labScopes);
	r[0].Percentage = 5;
	r[0].SharedSecret = wstr(L"never-read-secret");

	r[1].PrimaryServer = 0xC0000203;
	r[1].SecondaryServer = 0xC0000202;
	r[1].Mode = LoadBalance;
	r[1].ServerType = SecondaryServer;
	r[1].State = NORMAL;
	r[1].PrevState = RECOVER_DONE;
	r[1].Mclt = 600;
	r[1].RelationshipName = wstr(L"fo-meter");
	r[1].PrimaryServerName = wstr(meter);
	r[1].SecondaryServerName = NULL;
	r[1].pScopes = ips(0, NULL);
	r[1].Percentage = 50;
	r[1].SharedSecret = NULL;

	*out = arr;
	*read = 2;
	*resume = 2;
	return ERROR_SUCCESS;
}

__declspec(dllexport) DWORD WINAPI DhcpV4FailoverGetSystemTime(LPWSTR server, LPDWORD t, LPDWORD maxDelta)
{
	FILETIME ft;
	ULARGE_INTEGER u;
	(void)server;
	GetSystemTimeAsFileTime(&ft);
	u.LowPart = ft.dwLowDateTime;
	u.HighPart = ft.dwHighDateTime;
	*t = (DWORD)(u.QuadPart / 10000000ULL - 11644473600ULL);
	*maxDelta = 60;
	return ERROR_SUCCESS;
}

__declspec(dllexport) DWORD WINAPI DhcpV4FailoverGetScopeStatistics(LPWSTR server, DHCP_IP_ADDRESS scope, LPDHCP_FAILOVER_STATISTICS *out)
{
	(void)server;
	*out = NULL;
	if (scope != labScopes[0] && scope != labScopes[1])
		return ERROR_DHCP_FO_SCOPE_NOT_IN_RELATIONSHIP;
	LPDHCP_FAILOVER_STATISTICS s = block(sizeof *s);
	if (scope == labScopes[0]) {
		s->NumAddr = 200; s->AddrFree = 150; s->AddrInUse = 50;
		s->PartnerAddrFree = 142; s->ThisAddrFree = 8;
		s->PartnerAddrInUse = 30; s->ThisAddrInUse = 20;
	} else {
		s->NumAddr = 500; s->AddrFree = 10; s->AddrInUse = 490;
		s->PartnerAddrFree = 9; s->ThisAddrFree = 1;
		s->PartnerAddrInUse = 400; s->ThisAddrInUse = 90;
	}
	*out = s;
	return ERROR_SUCCESS;
}

__declspec(dllexport) DWORD WINAPI DhcpGetSubnetInfo(const WCHAR *server, DHCP_IP_ADDRESS subnet, LPDHCP_SUBNET_INFO *out)
{
	(void)server;
	*out = NULL;
	if (subnet != labScopes[0] && subnet != labScopes[1])
		return ERROR_DHCP_SUBNET_NOT_PRESENT;
	LPDHCP_SUBNET_INFO i = block(sizeof *i);
	i->SubnetAddress = subnet;
	i->SubnetMask = subnet == labScopes[0] ? 0xFFFFFF00 : 0xFFFFFE00;
	i->SubnetName = wstr(L"lab");
	i->SubnetComment = wstr(L"");
	i->PrimaryHost.IpAddress = 0x020200C0;
	i->PrimaryHost.NetBiosName = wstr(L"DHCP-B");
	i->PrimaryHost.HostName = wstr(L"dhcp-b.example.net");
	i->SubnetState = DhcpSubnetEnabled;
	*out = i;
	return ERROR_SUCCESS;
}
