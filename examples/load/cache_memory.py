import http.client, sys, threading, time, os
port=int(sys.argv[1]); pid=int(sys.argv[2]); mode=sys.argv[3]; total=int(sys.argv[4]); threads=4
def rss():
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS"): return int(l.split()[1])//1024
def worker(k):
    c=http.client.HTTPConnection("127.0.0.1",port)
    for i in range(k, total, threads):
        if mode=="junk": path=f"/api/v1/course_runs/?fill={i}&junk{i}=x"
        else: path=f"/api/v2/courses/?id={i}&page_size=100"
        c.request("GET", path); r=c.getresponse(); r.read()
        if r.status!=200: print("status",r.status,path); return
print("rss before", rss(), "MB")
t=time.time()
ts=[threading.Thread(target=worker,args=(k,)) for k in range(threads)]
[x.start() for x in ts]; [x.join() for x in ts]
print(f"{total} requests in {time.time()-t:.1f}s; rss after", rss(), "MB")
