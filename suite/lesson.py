"""The lesson's statements, in our words, each beside what measures it: the lesson-coverage table.

The suite started from a lesson on deep-learning architectures. Each of its
statements is here once, in the lesson's order, with how the suite measures
it: prose that names the claims it rests on by quoting the start of their
text ("..." from a capital letter, as the report prints them). That quote is
the link: `coverage` resolves each quote to the claims of a run and puts
their verdicts beside the statement, so the report's coverage table and
docs/lesson.md say the same thing from one list. A statement with no quoted
claim is "shown" (a figure, no verdict) or, where its prose starts with
"Not measured:", not measured, with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NOT_MEASURED = "Not measured:"


@dataclass(frozen=True)
class Statement:
    """One statement of the lesson: its section, what it says (our words) and how the suite measures it."""

    section: str
    says: str
    how: str

    @property
    def quotes(self) -> list[str]:
        """The claims this statement rests on, as quoted in `how` (the start of each claim's text)."""
        return [" ".join(q.split()) for q in re.findall(r'"([A-Z][^"]+)"', self.how)]

    @property
    def status(self) -> str:
        """"measured" (claims quoted), "not measured" (the prose says why) or "shown" (a figure, no verdict)."""
        if self.quotes:
            return "measured"
        return "not measured" if self.how.startswith(NOT_MEASURED) else "shown"


STATEMENTS = (
    # Why structure matters
    Statement(
        'Why structure matters',
        'A fully connected network treats every input as equally related to every other; data with'
        ' structure (neighbouring pixels, successive steps) is better served by an architecture '
        'that builds that structure in, which then learns more from less data.',
        '`locality`: "The CNN beats the MLP on natural images at small training sets." and '
        '"Permuting the pixels removes the CNN\'s advantage over the MLP" (on permuted pixels the '
        'CNN at most 2 points ahead of the MLP) and "The CNN\'s advantage is the pixels\' neighbourhoods: '
        'permuting them costs the CNN more accuracy than the MLP" (the same pixels with their '
        'neighbourhoods destroyed: the advantage '
        "is the structure's, not the CNN's in general). The index's data-size crossover shows, for"
        " every study, where a model's lead over a reference model starts or ends as the training "
        'set grows.',
    ),
    Statement(
        'Why structure matters',
        'Graphs have a hierarchical structure of their own that a specialised architecture can '
        'use.',
        '`graphs`: "A network built for graphs uses their structure: the graph network is more accurate '
        'than the MLP on the same graphs" (generated graphs whose label is a rule about a relation, an '
        'edge joining two red nodes; a message-passing network against the MLP on the flat adjacency '
        'matrix). The "hierarchical" part (structure at several scales) is not measured: the graphs are '
        'flat.',
    ),
    # CNNs: spatial structure
    Statement(
        'CNNs: spatial structure',
        'A convolution slides small filters over the input, so a pattern is found wherever it is: '
        "translation invariance is the CNN's key bias.",
        '`translation` (trained on digits in one corner, tested shifted): "Over the shifts it '
        'never saw (mean over the shift set), the CNN with global pooling is more accurate than '
        'the MLP." The study separates the two halves of the sentence: a convolution\'s feature map'
        ' moves with the pattern, and the prediction forgets where it was only if the head does: '
        '"Over the shifts, the CNN with global pooling is more accurate than the same CNN with a '
        'flatten-and-dense head." Whether the bias replaces data: "The CNN with global pooling '
        'needs no random placement in training" and "The MLP needs the data to carry the '
        'invariance".',
    ),
    Statement(
        'CNNs: spatial structure',
        'Several filters find several patterns; a first layer learns edge detectors.',
        '`hierarchy`: "Early layers detect edges, learned in training" (the share of each filter\'s'
        ' energy in the span of oriented edge filters, after training against at initialisation). '
        'The filters are drawn. How many filters a first layer has is a choice of the model, not a'
        ' claim.',
    ),
    Statement(
        'CNNs: spatial structure',
        'Max-pooling shrinks the feature maps and keeps the strongest response in each window: '
        'some translation invariance, and less computation.',
        '`pooling`: "Max-pooling gives some translation invariance: under a 2-pixel shift the '
        'max-pooled CNN is more accurate than the strided one.", against the CNN that does not '
        'downsample at all "Against not downsampling at all, max-pooling still adds translation '
        'invariance", what repairs subsampling "Anti-aliasing repairs what subsampling breaks", and '
        '"At little cost in accuracy: the CNN without downsampling is at most 2 points more accurate '
        'than the max-pooled one." '
        'Less computation is arithmetic: every run records `model/flops`, shown beside the '
        'verdicts.',
    ),
    Statement(
        'CNNs: spatial structure',
        'Stacked convolution layers build a hierarchy (edges, then their combinations such as '
        'textures and corners, then objects), and it emerges from training.',
        '`hierarchy`: "Later layers combine them into features that serve more than the labels '
        'they were trained on" (a linear probe on each layer\'s pooled activations at equal widths,'
        ' for a labelling the network never saw) and "The hierarchy emerges from training, not '
        'from the architecture alone" (what depth adds to the probe, trained against at '
        'initialisation). What each layer responds to is shown (the test patches that excite a '
        'layer\'s channels most), not judged: no number says "corner".',
    ),
    Statement(
        'CNNs: spatial structure',
        "AlexNet's ImageNet win in 2012 (ReLU, dropout, GPUs) convinced the field; CNNs then "
        'passed human accuracy on ImageNet; the idea was older (LeNet, 1998), scale made the '
        'difference.',
        'Not measured: history, at a scale (a million images, GPUs) this suite does not train at. '
        'The learning curves over training-set sizes are the nearest it comes to "more data".',
    ),
    # RNNs: sequential structure
    Statement(
        'RNNs: sequential structure',
        'An RNN reads a sequence one step at a time and carries a hidden state, so it can use what'
        ' it saw earlier.',
        '`memory` (the adding problem and copy memory, dependency length T): "At short lengths (T '
        '<= 20) the vanilla RNN learns". A rule applied step by step holds at any length: `length` '
        '(trained on bit strings of up to 8 symbols, tested on longer ones): "What the gated cells keep" '
        'and, against a model whose filters are tied to offsets from the end, "Filters tied to offsets from '
        'the end do not extrapolate".',
    ),
    Statement(
        'RNNs: sequential structure',
        'In practice the gradient shrinks exponentially with the number of steps it flows back '
        'through (the vanishing gradient): a vanilla RNN cannot learn dependencies longer than '
        'about 10 to 20 steps.',
        '`memory`: "Beyond 20 steps the vanilla RNN fails", run at two training budgets and judged'
        ' at the larger, since failing to learn and not yet having learned look alike. The cause '
        'is drawn (the gradient of the loss with respect to each input step, at initialisation and'
        ' after training, probe `input_gradients`) and measured as how much of it reaches the first '
        'step: "The mechanism, after training" and "The mechanism is the gates\' design, not their '
        'training" (below).',
    ),
    Statement(
        'RNNs: sequential structure',
        "The LSTM's gates (forget, input, output) and its cell state carry information across many"
        ' steps: they solve the vanishing gradient.',
        '`memory`: "Beyond 20 steps the LSTM and the GRU both learn more than the vanilla RNN." '
        '(Keras\'s default initialisation), "With the literature\'s recipe for long delays (chrono '
        'initialisation), beyond 20 steps the LSTM and the GRU both learn more than the vanilla RNN." '
        'and "Beyond 20 steps chrono initialisation (the forget gate\'s bias set to the task\'s time'
        ' scale) lets the LSTM learn more than Keras\'s default initialisation does." (how the '
        'forget gate starts decides whether the LSTM carries the state at all). The mechanism, a '
        'gradient that survives through the cell state: "The mechanism, after training: beyond 20 '
        'steps more of the gradient reaches the first step" and, before any training, "The mechanism '
        'is the gates\' design, not their training".',
    ),
    Statement(
        'RNNs: sequential structure',
        'The GRU has two gates instead of three and fewer parameters, and often does as well as '
        'the LSTM; which to use is an empirical question.',
        '`gating`: "At equal parameters the GRU performs comparably to the LSTM" and "At equal '
        'width, with fewer parameters, the GRU still performs comparably to the LSTM". That it has'
        ' fewer parameters at equal width is a fact of the two cells (`model/params`), shown.',
    ),
    Statement(
        'RNNs: sequential structure',
        'RNNs assume the order of the steps matters.',
        '`order`: "Where the label is the order of neighbouring steps, destroying the time order '
        'costs every recurrent and convolutional model" and, the other side, "Where the classes do'
        ' not need order (ItalyPowerDemand, GunPoint), the order bias buys nothing".',
    ),
    # The sequential bottleneck
    Statement(
        'The sequential bottleneck',
        'Each step of an RNN waits for the one before, so training cannot run in parallel over '
        'time: a sequence of 1,000 steps costs 1,000 operations in a row on any hardware. This is '
        'what the Transformer was designed to remove.',
        '`bottleneck` (step time against length): "The LSTM\'s step time grows linearly with '
        'length", "The temporal CNN\'s step time grows more slowly with length than the LSTM\'s" and'
        ' "The Transformer\'s step time grows more slowly with length than the LSTM\'s". They are '
        'claims about parallel hardware: on a CPU every model is bound by its arithmetic, so there'
        ' the verdicts are *undecidable* by design and a GPU decides them (`bench/gpu_check.sh`).',
    ),
    # Autoencoders: representation learning
    Statement(
        'Autoencoders: representation learning',
        'An autoencoder learns to reconstruct its input through a narrow code; if the '
        'reconstruction is good, the code holds what matters about the input.',
        "`representation`: every code width's reconstruction error is recorded and its "
        'reconstructions drawn; what the code holds is judged by a linear probe trained on a few '
        'labels: "With a bottleneck, the code beats raw pixels for a linear probe with 10 labels '
        'per class."',
    ),
    Statement(
        'Autoencoders: representation learning',
        'The bottleneck is what makes it work.',
        '`representation`: "Without the bottleneck that advantage shrinks" (the 8-wide code '
        'against an over-complete one, twice as wide as the input).',
    ),
    Statement(
        'Autoencoders: representation learning',
        'The code is learned without labels and places similar inputs close together.',
        '`representation`: "Similar inputs map to nearby points, and training puts them there" and '
        '"The learned code keeps the images\' neighbourhoods at least as well as PCA of the same width" '
        '(trustworthiness: how many of each test image\'s nearest neighbours among the codes are '
        'strangers among the pixels). The probe claims above read "similar" as "of the same class". '
        'The test digits placed by a 2-wide code, coloured by class, are shown.',
    ),
    Statement(
        'Autoencoders: representation learning',
        'Autoencoders do automatically what feature engineering does by hand.',
        '`representation`: "The learned code is at least as good as PCA of the same width" (PCA: '
        'the fixed, linear way to compress).',
    ),
    Statement(
        'Autoencoders: representation learning',
        'An autoencoder assumes its data lie near a lower-dimensional manifold.',
        '`representation`: "The code\'s standing comes from the data\'s structure" (digits against '
        '`noise64`, 64 independent features: no manifold to find).',
    ),
    Statement(
        'Autoencoders: representation learning',
        'Learning representations from raw data is the central idea of deep learning; every modern'
        ' architecture does it.',
        'Not measured: a statement about the field.',
    ),
    # Generative models: VAEs, GANs, diffusion
    Statement(
        'Generative models: VAEs, GANs, diffusion',
        'A VAE makes its code space follow a known distribution (a Gaussian), so the space is '
        "smooth and sampling it and decoding generates new data: it learns the data's "
        'distribution, not only a compression.',
        '`generation`: "Mode coverage: the VAE and the diffusion model each cover more modes than '
        'the GAN." and "The VAE and the diffusion model cover the full distribution: each covers '
        'all 8 modes of the ring." What the known distribution buys: "Sampling needs the code '
        'distribution a VAE imposes" (the VAE against a plain autoencoder of the same shape, sampled '
        'from a mixture of 10 Gaussians fitted to its training codes, Ghosh et al. 2020\'s ex-post density). '
        'What lies between two codes: `representation`: "A VAE\'s code space is smooth" (on digits '
        'and MNIST-5k, the decoded path between the codes of two test images of different classes, '
        'judged by a logistic regression on the pixels: the share of its confidence at the ends that '
        'the path keeps between them, the VAE against the plain autoencoder with the same dense coder).',
    ),
    Statement(
        'Generative models: VAEs, GANs, diffusion',
        "A GAN's generator and discriminator compete; when training converges, the samples cannot "
        'be told from real data.',
        '`generation`: modes covered and the share of samples close to a mode, per run; on digits '
        '(full profile) "On digits, the diffusion model\'s samples are closer to the real images" '
        'and "Class coverage on digits".',
    ),
    Statement(
        'Generative models: VAEs, GANs, diffusion',
        'GANs are hard to train: mode collapse, where the generator produces only a few kinds of '
        'output.',
        '`generation`: "Mode collapse: of its samples that land on a mode, the GAN puts a larger '
        'share on its favourite quarter of the modes than the VAE and the diffusion model do".',
    ),
    Statement(
        'Generative models: VAEs, GANs, diffusion',
        'Oscillation: the two players cycle instead of converging.',
        '`generation`: "Oscillation: in the second half of training what the GAN generates moves '
        'between the modes more than what the diffusion model generates does" (how far the generated '
        'distribution still moves: samples from the same noise at 11 snapshots) and "Cycling: in the second '
        'half of training the GAN\'s generator loss swings with a period" (whether its loss swings in a '
        'cycle: Fisher\'s g of a loss value every 50 steps).',
    ),
    Statement(
        'Generative models: VAEs, GANs, diffusion',
        'GAN training is unstable in general.',
        '`generation`: "Instability across seeds: the number of modes the GAN covers varies more '
        'from seed to seed than the diffusion model\'s." (a paired permutation test on the spread).'
        " How narrow a GAN's band of working learning rates is, is shown (modes covered per seed "
        "at a quarter and four times the recipe's rate).",
    ),
    Statement(
        'Generative models: VAEs, GANs, diffusion',
        'Stabilising tricks (spectral normalisation, WGAN, progressive growing) followed.',
        '`generation`: "SN-GAN\'s recipe helps". WGAN and progressive growing are not measured: the'
        ' suite does not implement them.',
    ),
    Statement(
        'Generative models: VAEs, GANs, diffusion',
        'A diffusion model learns to undo a gradual noising and generates by denoising pure noise;'
        ' its training is stable (it only predicts the noise at each step).',
        '`generation` trains a DDPM-style model through the same runner; it is the stable '
        'reference of "Instability across seeds: the number of modes the GAN covers varies more" and '
        '"Oscillation: in the second half of training what the GAN generates moves between the modes '
        'more" above.',
    ),
    Statement(
        'Generative models: VAEs, GANs, diffusion',
        'Diffusion models cover the whole data distribution.',
        '`generation`: the two coverage claims above ("Mode coverage" and "The VAE and the '
        'diffusion model cover the full distribution").',
    ),
    Statement(
        'Generative models: VAEs, GANs, diffusion',
        'Their quality scales reliably with compute.',
        '`generation`: "Diffusion quality scales with compute at sampling" (the trained model sampled with '
        '100, 25, 10 and 5 denoising steps by one sampler, a respaced schedule with the posterior variance: '
        'modes covered and high-quality share at each are stored). Compute at training is not varied: each '
        'profile trains one budget.',
    ),
    Statement(
        'Generative models: VAEs, GANs, diffusion',
        'Diffusion replaced GANs for images; the choices that make training stable and scalable '
        'win over more elegant ones.',
        '`generation` measures the comparison behind the history, the two families on the same data '
        'through the same runner: on images (digits, full profile) "On digits, the diffusion model\'s '
        'samples are closer to the real images", on the ring "Mode coverage: the VAE and the diffusion '
        'model each cover more modes than the GAN", and for stability "Instability across seeds: the '
        'number of modes the GAN covers varies more". What the field adopted, and why, is history, '
        'not measured.',
    ),
    # Inductive biases
    Statement(
        'Inductive biases',
        'CNNs assume locality and translation invariance: right for images, wrong for tables.',
        'Images: `locality`, `translation`, `pooling` above. Tables: `tabular`: "Neither the grid '
        'CNN nor the column LSTM gains over the MLP on tables" and "An arbitrary column order '
        'moves the grid CNN\'s and the column LSTM\'s accuracy more than the MLP\'s".',
    ),
    Statement(
        'Inductive biases',
        'RNNs assume order: right for time series, and poor at long-range dependencies.',
        'Order: `order`, "Where the label is the order of neighbouring steps, destroying the time order '
        'costs every recurrent and convolutional model". Long range: `memory`, "Beyond 20 steps the '
        'vanilla RNN fails", and `bottleneck` (the time it costs, a GPU question).',
    ),
    Statement(
        'Inductive biases',
        'Autoencoders assume a low-dimensional manifold; GANs assume an adversarial game can '
        'capture the data distribution.',
        '`representation`: "The code\'s standing comes from the data\'s structure" (digits against '
        'noise); `generation`: "Mode coverage: the VAE and the diffusion model each cover more modes than '
        'the GAN" (what the adversarial game captures of a known distribution).',
    ),
    Statement(
        'Inductive biases',
        'The right bias lets a model learn from less data and generalise better; the wrong one '
        'makes it fight its architecture.',
        'Every study compares a model on data its bias matches and on data it does not; most '
        'directly `locality`: "The CNN beats the MLP on natural images at small training sets" and '
        '"Permuting the pixels removes the CNN\'s advantage over the MLP"; and the wrong bias: '
        '`tabular`, "Neither the grid CNN nor the column LSTM gains over the MLP on tables". The '
        "index's bias map and data-size crossover show it for every study. On "
        'your own data (`--data`), a study of its own compares every model that applies on your '
        'data and on copies with one structure destroyed.',
    ),
    Statement(
        'Inductive biases',
        'Choosing the architecture is among the most important decisions in deep learning.',
        "Not measured: a judgement. `--data` is the suite's way of making that choice on your "
        'data.',
    ),
    # The Transformer's minimal bias
    Statement(
        "The Transformer's minimal bias",
        'The Transformer assumes almost nothing: no locality, no order, no fixed range.',
        '`order`\'s control "Control: the Transformer (learned position embeddings) is unaffected '
        'by the order" checks it holds in our implementation: a fixed permutation only relabels '
        'its position embeddings, so this is true by construction and no evidence. What assuming no '
        'order costs, measured: `length` (Deletang et al. 2023\'s test: trained on short strings of a '
        'language with a known rule, tested on longer ones): "Trained on strings of up to 8 symbols, '
        'the LSTM and the GRU lose less accuracy than the Transformer with learned positions" and '
        '"Sinusoidal positions, defined at every length, do not close that gap". No locality, measured: '
        '`locality`\'s "The Transformer assumes almost nothing about the pixels: permuting them moves the '
        'ViT\'s accuracy by at most 2 points either way".',
    ),
    Statement(
        "The Transformer's minimal bias",
        'So on small datasets it needs more data than a CNN or an RNN to learn what their '
        'structure gives them.',
        '`locality`: "The Transformer needs the most data: on natural images, on average over the '
        'training-set sizes, both the CNN and the MLP are more accurate than the ViT".',
    ),
    Statement(
        "The Transformer's minimal bias",
        'With abundant data the least biased model wins, and scales; that, and the text of the '
        'internet, is why Transformers dominate.',
        '`locality`: "With more data the Transformer scales better" (each model\'s exponent alpha of a '
        'power-law learning curve, error ~ n^-alpha, over the sizes run): the half of the statement a CPU '
        'run can measure. That the ViT *wins* needs more data than a CPU profile trains on (a few '
        'thousand images at most): the data-size crossover on the index (each model against the MLP) '
        'shows whether it catches up '
        'within the sizes run (its table\'s "none from 100 to 3,500: behind" is "not reached at n <= 3,500"). '
        'The text of the internet is '
        'not measured.',
    ),
)

# Claims that are not the lesson's, there so that its claims have a fair test (listed after the coverage table).
ADDED = (
    Statement(
        "What the suite adds",
        "Classical models beside the networks on tables, and the trees' own bias: axis-aligned splits "
        "(Grinsztajn, Oyallon and Varoquaux 2022).",
        '`tabular`: "Gradient-boosted trees match or beat every neural network on these tables", "A random '
        'rotation of the features costs the gradient-boosted trees more accuracy than the MLP" and '
        '"Uninformative columns cost the MLP more accuracy than the gradient-boosted trees".',
    ),
    Statement(
        "What the suite adds",
        "Controls: outcomes known in advance that check the machinery; they are no evidence.",
        '`locality`: "Control: the MLP is unaffected by the permutation"; `order`: "Control: the MLP is '
        'unaffected by the order" and the Transformer\'s control (under the Transformer\'s minimal bias).',
    ),
)


def claims_of(quote: str, texts) -> list[str]:
    """The claim texts that start with `quote` (a quote names one claim, or a family that starts alike)."""
    return [t for t in texts if " ".join(t.split()).startswith(quote)]


def unresolved(texts) -> list[str]:
    """Quotes of the statements that name no claim among `texts`, and claims that no statement quotes:
    empty when the coverage table and the registered studies agree (a test checks the built-in ones)."""
    texts = list(texts)
    quotes = [q for s in STATEMENTS + ADDED for q in s.quotes]
    return ([f"no claim starts with {q!r}" for q in quotes if not claims_of(q, texts)]
            + [f"no statement quotes {t!r}" for t in texts if not any(claims_of(q, [t]) for q in quotes)])


def coverage(verdicts: list[tuple[str, list[dict]]], statements=STATEMENTS) -> list[dict]:
    """The coverage table of a run: per statement, its status and each quoted claim's study and verdicts
    (unadjusted and Holm-adjusted) where the run holds it, else "not in this run".

    `verdicts`: (study name, claim verdict dicts) as `suite.report.html.run_verdicts` returns them."""
    found = [(study, v) for study, vs in verdicts for v in vs]
    rows = []
    for s in statements:
        claims = []
        for quote in s.quotes:
            hits = [(study, v) for study, v in found if claims_of(quote, [v["text"]])]
            claims += [{"quote": quote, "study": study, "verdict": v["verdict"], "holm": v["holm"],
                        "control": v["control"]} for study, v in hits] or [
                {"quote": quote, "study": "", "verdict": "not in this run", "holm": "", "control": False}]
        rows.append({"section": s.section, "says": s.says, "how": s.how, "status": s.status, "claims": claims})
    return rows
