"""NetworKit timings for benches/graph.rs: reads an `src dst weight` edge list (directed),
runs PageRank (20 iterations, sinks distributed), weakly connected components, BFS and
Dijkstra from a source, and triangle counting on the undirected simple graph, with 2 threads.
Prints one JSON object: seconds per algorithm (excluding reading and conversions; best of 3
runs, triangles once, as benches/graph.rs times Morpheus), plus peak_rss_mib of this
process."""

import json
import resource
import sys
import time

import networkit as nk


def timed(f, reps=3):
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return best


def main():
    path, source = sys.argv[1], sys.argv[2]
    only = sys.argv[3] if len(sys.argv) > 3 else None
    nk.setNumberOfThreads(2)
    reader = nk.graphio.EdgeListReader(" ", 0, "#", continuous=False, directed=True)
    g = reader.read(path)
    src = reader.getNodeMap().get(source, 0)
    out = {}

    def pagerank():
        pr = nk.centrality.PageRank(
            g, damp=0.85, tol=0.0,
            distributeSinks=nk.centrality.SinkHandling.DistributeSinks)
        pr.maxIterations = 20
        pr.run()

    if only == "pagerank":
        out["pagerank"] = timed(pagerank, reps=1)
        print(json.dumps(out))
        return
    out["pagerank"] = timed(pagerank)
    out["wcc"] = timed(lambda: nk.components.WeaklyConnectedComponents(g).run())
    out["bfs"] = timed(lambda: nk.distance.BFS(g, src, storePaths=False).run())
    out["sssp"] = timed(lambda: nk.distance.Dijkstra(g, src, storePaths=False).run())
    # Read again as undirected (toUndirected on this weighted graph corrupts the heap in
    # NetworKit 11.3), without self-loops and multi-edges.
    del g
    u = nk.graphio.EdgeListReader(" ", 0, "#", continuous=False, directed=False).read(path)
    u.removeSelfLoops()
    u.removeMultiEdges()
    u.indexEdges()
    out["triangles"] = timed(lambda: nk.sparsification.TriangleEdgeScore(u).run(), reps=1)
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps(out))


if __name__ == "__main__":
    main()
