// Can part of a 538 MB per-token weight stream stay in L3 across passes?
// Each pass reads the whole buffer with 2 threads (each its half, split in
// "kept" (normal loads) and "streamed" (prefetchnta ahead + loads) parts).
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>
#include <time.h>
static long N; static float *a; static int T; static long keep; static int mode;
static float res[64]; static pthread_barrier_t bar;
static void pass(long lo, long hi, long id) {
	__m512 s0=_mm512_setzero_ps(),s1=s0,s2=s0,s3=s0;
	long kend = lo + keep/T; if (kend > hi) kend = hi;
	for (long i=lo;i<kend;i+=64){ s0=_mm512_add_ps(s0,_mm512_load_ps(a+i)); s1=_mm512_add_ps(s1,_mm512_load_ps(a+i+16)); s2=_mm512_add_ps(s2,_mm512_load_ps(a+i+32)); s3=_mm512_add_ps(s3,_mm512_load_ps(a+i+48)); }
	for (long i=kend;i<hi;i+=64){
		if (mode==1) { _mm_prefetch((const char*)(a+i+1024),_MM_HINT_NTA); _mm_prefetch((const char*)(a+i+1040),_MM_HINT_NTA); _mm_prefetch((const char*)(a+i+1056),_MM_HINT_NTA); _mm_prefetch((const char*)(a+i+1072),_MM_HINT_NTA);}
		s0=_mm512_add_ps(s0,_mm512_load_ps(a+i)); s1=_mm512_add_ps(s1,_mm512_load_ps(a+i+16)); s2=_mm512_add_ps(s2,_mm512_load_ps(a+i+32)); s3=_mm512_add_ps(s3,_mm512_load_ps(a+i+48)); }
	res[id]+=_mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0,s1),_mm512_add_ps(s2,s3)));
}
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static double times[64];
static void* run(void* arg){ long id=(long)arg; long lo=N/T*id, hi=N/T*(id+1);
	for(int p=0;p<30;p++){ pthread_barrier_wait(&bar); double t0=now(); pass(lo,hi,id); pthread_barrier_wait(&bar); if(id==0) times[p]=now()-t0; }
	return 0; }
int main(int c,char**v){ N=atol(v[1])<<18; T=atoi(v[2]); keep=atol(v[3])<<18; mode=atoi(v[4]);
	a=aligned_alloc(2<<20,N*4); madvise(a,N*4,MADV_HUGEPAGE); for(long i=0;i<N;i++)a[i]=1;
	pthread_barrier_init(&bar,0,T); pthread_t th[64]; for(long i=0;i<T;i++)pthread_create(&th[i],0,run,(void*)i); for(int i=0;i<T;i++)pthread_join(th[i],0);
	double s[30]; memcpy(s,times,sizeof s); for(int i=0;i<30;i++)for(int j=i+1;j<30;j++)if(s[j]<s[i]){double x=s[i];s[i]=s[j];s[j]=x;}
	printf("MB %ld threads %d keep %ld MB mode %d: median %.2f ms (%.1f GB/s) best %.2f ms\n", N>>18, T, keep>>18, mode, s[15]*1e3, N*4/s[15]/1e9, s[0]*1e3);
}
