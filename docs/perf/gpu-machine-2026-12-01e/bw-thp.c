#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <sys/mman.h>
#include <time.h>
#include <string.h>
#define N (256L<<20)
float *a; int T;
float res[64];
void* run(void* arg){ long id=(long)arg; long lo=N/T*id, hi=N/T*(id+1);
 __m512 s0=_mm512_setzero_ps(),s1=s0,s2=s0,s3=s0;
 for(long i=lo;i<hi;i+=64){ s0=_mm512_add_ps(s0,_mm512_load_ps(a+i)); s1=_mm512_add_ps(s1,_mm512_load_ps(a+i+16)); s2=_mm512_add_ps(s2,_mm512_load_ps(a+i+32)); s3=_mm512_add_ps(s3,_mm512_load_ps(a+i+48));}
 res[id]=_mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0,s1),_mm512_add_ps(s2,s3))); return 0;}
int main(int c,char**v){ T=atoi(v[1]); int huge=atoi(v[2]);
 a=mmap(0,N*4+(2<<20),PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0); a=(float*)(((unsigned long)a+(2<<20)-1)&~((2UL<<20)-1));
 madvise(a,N*4,huge?MADV_HUGEPAGE:MADV_NOHUGEPAGE);
 for(long i=0;i<N;i++)a[i]=1;
 double best=0; for(int r=0;r<5;r++){ struct timespec t0,t1; clock_gettime(CLOCK_MONOTONIC,&t0); pthread_t th[64]; for(long i=0;i<T;i++)pthread_create(&th[i],0,run,(void*)i); for(int i=0;i<T;i++)pthread_join(th[i],0); clock_gettime(CLOCK_MONOTONIC,&t1);
 double s=(t1.tv_sec-t0.tv_sec)+(t1.tv_nsec-t0.tv_nsec)*1e-9; double gb=N*4/s/1e9; if(gb>best)best=gb;}
 printf("%d threads huge=%d: best %.1f GB/s\n",T,huge,best);
 FILE*f=fopen("/proc/self/smaps_rollup","r"); char line[256]; while(fgets(line,256,f)) if(strstr(line,"AnonHuge")) fputs(line,stdout); }
