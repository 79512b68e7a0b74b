"""Study `graphs`: can an architecture built for graphs use their structure?

Lesson: structured data include graphs, whose structure (entities and the
relations between them) a specialised architecture can use. The graph
network (`gnn`: two rounds of message passing, the sum over each node's
neighbours, the same weights at every node) against the MLP reading the same
graph as a flat vector (adjacency matrix and node colours), at about the same
number of parameters.

Data (generated, `suite.data.graphs`): `red_edge`, 6,000 random graphs of 12
nodes, each node red or blue; the label is whether some edge joins two red
nodes. The classes are balanced at every number of red nodes, so counting
reds says nothing; the edge count alone gives about 0.60 (logistic
regression on the edge and red counts), and so does logistic regression on
the flat matrix (0.58). Node order carries no information: a model reading
the flat matrix must learn the rule at each of the 66 pairs of positions.

Run: python run_suite.py --studies graphs
"""

from suite.adequacy import Gate
from suite.claims import Claim
from suite.studies import Study, register_grid, register_study

GATES = (
    Gate(model={"arch": "gnn"}, metric="test/accuracy", level=0.9,
         source="one round of message passing computes the rule exactly (each red node asks whether a "
         "neighbour is red; the readout whether any says yes), so a graph network that has learned it is "
         "near 1.0; 0.9, the level Deletang et al. 2023 call solved, leaves room for the smallest sizes"),
)

register_study(
    Study(
        name="graphs",
        question="On a rule about relations in a graph (does an edge join two red nodes?), does a network "
        "built for graphs learn from fewer examples than an MLP reading the same graph as a flat vector?",
        claim="Graphs have a structure of their own (entities and the relations between them) that a "
        "specialised architecture can use.",
        expected="The graph network, which applies one rule to every node and the sum over its neighbours "
        "whatever the node order, learns the rule from a hundred graphs; the MLP, which must learn it at every "
        "pair of positions of the adjacency matrix, stays near chance at the sizes run.",
        claims=(
            Claim(
                text="A network built for graphs uses their structure: the graph network is more accurate than "
                "the MLP on the same graphs, at every training-set size on average.",
                a={"arch": "gnn"}, b={"arch": "mlp"}, test="better", sizes="all",
                cell=("graphs: message passing", "graphs"),
            ),
        ),
        sizes={"smoke": (60,), "quick": (100, 400, "full"), "full": (50, 100, 200, 500, 1000, 2000, "full")},
        seeds={"smoke": 2, "quick": 10, "full": 10},
        datasets={"smoke": ("red_edge",), "quick": ("red_edge",), "full": ("red_edge",)},
        param_target=10_000,
        figures=("learning_curves",),
        gates=GATES,
        references=(
            "Gilmer, Schoenholz, Riley, Vinyals and Dahl 2017 (ICML), Neural message passing for quantum "
            "chemistry: the message-passing framework.",
            "Xu, Hu, Leskovec and Jegelka 2019 (ICLR), How powerful are graph neural networks?: sum aggregation "
            "keeps what a mean or a max loses.",
            "Battaglia et al. 2018, Relational inductive biases, deep learning, and graph networks: the graph "
            "network's bias, relations and invariance to the order of entities.",
        ),
    )
)

register_grid("graphs", datasets=("red_edge",), variants={"natural": True}, archs=("gnn",),
              bias="relations: message passing over edges")
register_grid("graphs", datasets=("red_edge",), variants={"natural": False}, archs=("mlp",),
              bias="none: a flat vector")
