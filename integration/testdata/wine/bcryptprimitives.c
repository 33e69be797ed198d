/*
 * ProcessPrng for Wine 8.0, which has no bcryptprimitives.dll: the Go
 * runtime (Go 1.22 and later) loads it at start and takes its random bytes
 * from it. Windows 10 and later ship it. This shim gives Wine's own
 * BCryptGenRandom (system-preferred RNG) instead.
 *
 * Build: x86_64-w64-mingw32-gcc -shared -O2 -o bcryptprimitives.dll bcryptprimitives.c -lbcrypt
 */
#include <windows.h>
#include <bcrypt.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
		if (BCryptGenRandom(NULL, data, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0)
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
