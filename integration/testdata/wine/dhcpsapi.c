/*
 * A fake dhcpsapi.dll for running the exporter's Windows build under Wine.
 *
 * The structures are declared here from Microsoft's documented types
 * (dhcpsapi.h as documented on learn.microsoft.com; MS-DHCPM 2.2.1.2.98
 * DHCP_FAILOVER_RELATIONSHIP, 2.2.1.2.99 DHCP_FAILOVER_RELATIONSHIP_ARRAY,
 * 2.2.1.2.46 DHCP_IP_ARRAY, 2.2.1.2.100 DHCP_FAILOVER_STATISTICS,
 * 2.2.1.2.8 DHCP_SUBNET_INFO, 2.2.1.2.7 DHCP_HOST_INFO, 2.2.1.2.85
 * DHCP_SUPER_SCOPE_TABLE_ENTRY, 2.2.1.2.86 DHCP_SUPER_SCOPE_TABLE,
 * 2.2.1.2.95 DHCP_MIB_INFO_V5, 2.2.1.2.11 DATE_TIME; SCOPE_MIB_INFO_V5 as
 * learn.microsoft.com documents it), so that the C
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
#include <stddef.h>
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

typedef struct _DHCP_SUPER_SCOPE_TABLE_ENTRY {
	DHCP_IP_ADDRESS SubnetAddress;
	DWORD SuperScopeNumber;
	DWORD NextInSuperScope;
	LPWSTR SuperScopeName;
} DHCP_SUPER_SCOPE_TABLE_ENTRY, *LPDHCP_SUPER_SCOPE_TABLE_ENTRY;

typedef struct _DHCP_SUPER_SCOPE_TABLE {
	DWORD cEntries;
	DHCP_SUPER_SCOPE_TABLE_ENTRY *pEntries;
} DHCP_SUPER_SCOPE_TABLE, *LPDHCP_SUPER_SCOPE_TABLE;

typedef struct _DATE_TIME {
	DWORD dwLowDateTime;
	DWORD dwHighDateTime;
} DATE_TIME;

typedef struct _SCOPE_MIB_INFO_V5 {
	DHCP_IP_ADDRESS Subnet;
	DWORD NumAddressesInuse;
	DWORD NumAddressesFree;
	DWORD NumPendingOffers;
} SCOPE_MIB_INFO_V5, *LPSCOPE_MIB_INFO_V5;

typedef struct _DHCP_MIB_INFO_V5 {
	DWORD Discovers;
	DWORD Offers;
	DWORD Requests;
	DWORD Acks;
	DWORD Naks;
	DWORD Declines;
	DWORD Releases;
	DATE_TIME ServerStartTime;
	DWORD QtnNumLeases;
	DWORD QtnPctQtnLeases;
	DWORD QtnProbationLeases;
	DWORD QtnNonQtnLeases;
	DWORD QtnExemptLeases;
	DWORD QtnCapableClients;
	DWORD QtnIASErrors;
	DWORD DelayedOffers;
	DWORD ScopesWithDelayedOffers;
	DWORD Scopes;
	LPSCOPE_MIB_INFO_V5 ScopeInfo;
} DHCP_MIB_INFO_V5, *LPDHCP_MIB_INFO_V5;

/* The layout the exporter's decoder assumes (dhcpsapi/layout.go); a
 * mismatch fails the build of this file. */
#define CHECK(name, cond) typedef char check_##name[(cond) ? 1 : -1]
#ifdef _WIN64
CHECK(rel_size, sizeof(DHCP_FAILOVER_RELATIONSHIP) == 80);
CHECK(rel_scopes, offsetof(DHCP_FAILOVER_RELATIONSHIP, pScopes) == 56);
CHECK(rel_secret, offsetof(DHCP_FAILOVER_RELATIONSHIP, SharedSecret) == 72);
CHECK(arr_size, sizeof(DHCP_FAILOVER_RELATIONSHIP_ARRAY) == 16);
CHECK(stats_size, sizeof(DHCP_FAILOVER_STATISTICS) == 28);
CHECK(subnet_size, sizeof(DHCP_SUBNET_INFO) == 56);
CHECK(subnet_hostname, offsetof(DHCP_SUBNET_INFO, PrimaryHost.HostName) == 40);
/* dhcpsapi/layout_server.go */
CHECK(sst_size, sizeof(DHCP_SUPER_SCOPE_TABLE) == 16);
CHECK(sst_entries, offsetof(DHCP_SUPER_SCOPE_TABLE, pEntries) == 8);
CHECK(sse_size, sizeof(DHCP_SUPER_SCOPE_TABLE_ENTRY) == 24);
CHECK(sse_name, offsetof(DHCP_SUPER_SCOPE_TABLE_ENTRY, SuperScopeName) == 16);
CHECK(mib_size, sizeof(DHCP_MIB_INFO_V5) == 88);
CHECK(mib_start, offsetof(DHCP_MIB_INFO_V5, ServerStartTime) == 28);
CHECK(mib_delayed, offsetof(DHCP_MIB_INFO_V5, DelayedOffers) == 64);
CHECK(mib_scopes, offsetof(DHCP_MIB_INFO_V5, Scopes) == 72);
CHECK(mib_scopeinfo, offsetof(DHCP_MIB_INFO_V5, ScopeInfo) == 80);
CHECK(smib_size, sizeof(SCOPE_MIB_INFO_V5) == 16);
#else
/* 32-bit (386) Windows: the offsets dhcpsapi/layout_server.go writes down
 * for a 386 binding (the Wine test compiles this file with -m32
 * -fsyntax-only to check them). */
CHECK(sst_size, sizeof(DHCP_SUPER_SCOPE_TABLE) == 8);
CHECK(sst_entries, offsetof(DHCP_SUPER_SCOPE_TABLE, pEntries) == 4);
CHECK(sse_size, sizeof(DHCP_SUPER_SCOPE_TABLE_ENTRY) == 16);
CHECK(sse_name, offsetof(DHCP_SUPER_SCOPE_TABLE_ENTRY, SuperScopeName) == 12);
CHECK(mib_size, sizeof(DHCP_MIB_INFO_V5) == 80);
CHECK(mib_start, offsetof(DHCP_MIB_INFO_V5, ServerStartTime) == 28);
CHECK(mib_scopes, offsetof(DHCP_MIB_INFO_V5, Scopes) == 72);
CHECK(mib_scopeinfo, offsetof(DHCP_MIB_INFO_V5, ScopeInfo) == 76);
CHECK(smib_size, sizeof(SCOPE_MIB_INFO_V5) == 16);
#endif

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
	i->SubnetName = wstr(subnet == labScopes[0] ? L"lab" : L"lab-wifi");
	i->SubnetComment = wstr(L"");
	i->PrimaryHost.IpAddress = 0x020200C0;
	i->PrimaryHost.NetBiosName = wstr(L"DHCP-B");
	i->PrimaryHost.HostName = wstr(L"dhcp-b.example.net");
	i->SubnetState = DhcpSubnetEnabled;
	*out = i;
	return ERROR_SUCCESS;
}

/* The superscope table lists every scope (learn.microsoft.com,
 * DhcpGetSuperScopeInfoV4, Remarks): 192.0.2.0 in superscope "campus"
 * with a scope outside failover, 198.51.100.0 in none (NULL name). */
__declspec(dllexport) DWORD WINAPI DhcpGetSuperScopeInfoV4(const WCHAR *server, LPDHCP_SUPER_SCOPE_TABLE *out)
{
	(void)server;
	LPDHCP_SUPER_SCOPE_TABLE t = block(sizeof *t);
	t->cEntries = 3;
	t->pEntries = block(3 * sizeof(DHCP_SUPER_SCOPE_TABLE_ENTRY));
	t->pEntries[0].SubnetAddress = labScopes[0];
	t->pEntries[0].SuperScopeNumber = 0;
	t->pEntries[0].NextInSuperScope = 2;
	t->pEntries[0].SuperScopeName = wstr(L"campus");
	t->pEntries[1].SubnetAddress = labScopes[1];
	t->pEntries[1].SuperScopeNumber = 0xFFFFFFFF;
	t->pEntries[1].NextInSuperScope = 0xFFFFFFFF;
	t->pEntries[1].SuperScopeName = NULL;
	t->pEntries[2].SubnetAddress = 0xAC100000; /* 172.16.0.0 */
	t->pEntries[2].SuperScopeNumber = 0;
	t->pEntries[2].NextInSuperScope = 0xFFFFFFFF;
	t->pEntries[2].SuperScopeName = wstr(L"campus");
	*out = t;
	return ERROR_SUCCESS;
}

/* Counters since a start one hour before the call. */
__declspec(dllexport) DWORD WINAPI DhcpGetMibInfoV5(const WCHAR *server, LPDHCP_MIB_INFO_V5 *out)
{
	FILETIME ft;
	ULARGE_INTEGER u;
	(void)server;
	LPDHCP_MIB_INFO_V5 m = block(sizeof *m);
	m->Discovers = 900;
	m->Offers = 880;
	m->Requests = 870;
	m->Acks = 850;
	m->Naks = 17;
	m->Declines = 3;
	m->Releases = 40;
	GetSystemTimeAsFileTime(&ft);
	u.LowPart = ft.dwLowDateTime;
	u.HighPart = ft.dwHighDateTime;
	u.QuadPart -= 3600ULL * 10000000ULL;
	m->ServerStartTime.dwLowDateTime = u.LowPart;
	m->ServerStartTime.dwHighDateTime = u.HighPart;
	m->QtnNumLeases = 0xA1A1A1A1; /* unused by the server: never read */
	m->Scopes = 3;
	m->ScopeInfo = block(3 * sizeof(SCOPE_MIB_INFO_V5));
	m->ScopeInfo[0].Subnet = labScopes[0];
	m->ScopeInfo[0].NumAddressesInuse = 50;
	m->ScopeInfo[0].NumAddressesFree = 150;
	m->ScopeInfo[0].NumPendingOffers = 4;
	m->ScopeInfo[1].Subnet = labScopes[1];
	m->ScopeInfo[1].NumAddressesInuse = 490;
	m->ScopeInfo[1].NumAddressesFree = 10;
	m->ScopeInfo[1].NumPendingOffers = 1;
	m->ScopeInfo[2].Subnet = 0xAC100000;
	m->ScopeInfo[2].NumPendingOffers = 9;
	*out = m;
	return ERROR_SUCCESS;
}
